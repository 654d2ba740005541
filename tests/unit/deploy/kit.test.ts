/**
 * The deploy kit, checked offline: Kubernetes manifests against the Kubernetes API schemas
 * (kubernetes-models, and the Prometheus operator's for the ServiceMonitor), the compose file
 * against the Compose Specification's JSON Schema (vendored), every Headroom config they carry
 * through Headroom's own validation, and the wiring between the pieces (ports, probes,
 * secrets, partitions, mounts). The systemd unit is checked by systemd-analyze in
 * tests/integration/deploy-systemd.test.ts; the image build is shown in docs/deploy.md.
 */
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { Ajv } from 'ajv';
import { ServiceMonitor } from '@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1';
import { Deployment } from 'kubernetes-models/apps/v1';
import { PodDisruptionBudget } from 'kubernetes-models/policy/v1';
import { ConfigMap, Namespace, Secret, Service } from 'kubernetes-models/v1';
import { parseAllDocuments, parse as parseYaml } from 'yaml';
import { describe, expect, it } from 'vitest';
import { loadConfigFile, type HeadroomConfig } from '../../../src/config/index.js';
import { configFromText } from '../../helpers/config.js';

const K8S = 'deploy/kubernetes';
const COMPOSE = 'deploy/compose';

type Manifest = { apiVersion: string; kind: string; metadata: { name: string; namespace?: string }; [key: string]: unknown };

const MODELS: Record<string, new (data: never) => { validate(): void }> = {
  'v1/Namespace': Namespace,
  'v1/ConfigMap': ConfigMap,
  'v1/Secret': Secret,
  'v1/Service': Service,
  'apps/v1/Deployment': Deployment,
  'policy/v1/PodDisruptionBudget': PodDisruptionBudget,
  'monitoring.coreos.com/v1/ServiceMonitor': ServiceMonitor,
};

function manifests(): { file: string; doc: Manifest }[] {
  return readdirSync(K8S)
    .filter((f) => f.endsWith('.yaml') && f !== 'kustomization.yaml')
    .flatMap((file) => parseAllDocuments(readFileSync(join(K8S, file), 'utf8')).map((d) => ({ file, doc: d.toJS() as Manifest })));
}

function ofKind<T>(kind: string): T[] {
  return manifests().filter((m) => m.doc.kind === kind).map((m) => m.doc as unknown as T);
}

interface Container {
  args: string[];
  ports: { name: string; containerPort: number }[];
  envFrom: { secretRef: { name: string } }[];
  livenessProbe: { httpGet: { path: string; port: string } };
  readinessProbe: { httpGet: { path: string; port: string } };
  startupProbe: { httpGet: { path: string; port: string } };
  securityContext: { readOnlyRootFilesystem: boolean; allowPrivilegeEscalation: boolean };
  volumeMounts: { name: string; mountPath: string }[];
}
interface DeploymentDoc {
  metadata: { name: string };
  spec: { replicas: number; strategy: { type: string }; template: { spec: { containers: Container[]; volumes: { name: string; configMap?: { name: string; items: { key: string; path: string }[] } }[]; securityContext: { runAsNonRoot: boolean } } } };
}

/** Every `{ env: VAR }` a config names. */
function envSecrets(text: string): string[] {
  return [...text.matchAll(/\{\s*env:\s*([A-Z0-9_]+)\s*\}/g)].map((m) => m[1]!);
}

function configOrThrow(text: string, name: string): HeadroomConfig {
  return configFromText(text, name);
}

describe('Kubernetes manifests', () => {
  it('every object validates against its Kubernetes API schema', () => {
    const all = manifests();
    expect(all.length).toBeGreaterThanOrEqual(7);
    for (const { file, doc } of all) {
      const Model = MODELS[`${doc.apiVersion}/${doc.kind}`];
      expect(Model, `${file}: ${doc.apiVersion} ${doc.kind} has no schema here`).toBeDefined();
      expect(() => new Model!(doc as never).validate(), `${file}: ${doc.kind} ${doc.metadata.name}`).not.toThrow();
      expect(doc.metadata.namespace ?? 'headroom', `${file}: namespace`).toBe('headroom');
    }
  });

  it('kustomization lists every manifest, and only existing files', () => {
    const k = parseYaml(readFileSync(join(K8S, 'kustomization.yaml'), 'utf8')) as { resources: string[] };
    const files = readdirSync(K8S).filter((f) => f.endsWith('.yaml') && f !== 'kustomization.yaml');
    expect([...k.resources].sort()).toEqual(files.sort());
  });

  it('workers: one per partition set, Recreate, probes on /healthz and /readyz of the metrics port, non-root, read-only', () => {
    const deployments = ofKind<DeploymentDoc>('Deployment');
    const configMap = ofKind<{ data: Record<string, string> }>('ConfigMap')[0]!;
    const secret = ofKind<{ metadata: { name: string }; stringData: Record<string, string> }>('Secret')[0]!;
    const partitions: number[] = [];
    for (const d of deployments) {
      expect(d.spec.replicas, d.metadata.name).toBe(1);
      // Two pods on one partition set would split its sites' readings between them.
      expect(d.spec.strategy.type, d.metadata.name).toBe('Recreate');
      const pod = d.spec.template.spec;
      expect(pod.securityContext.runAsNonRoot).toBe(true);
      const c = pod.containers[0]!;
      expect(c.ports.map((p) => [p.name, p.containerPort])).toEqual([['metrics', 9464]]);
      expect(c.livenessProbe.httpGet).toEqual({ path: '/healthz', port: 'metrics' });
      expect(c.startupProbe.httpGet).toEqual({ path: '/healthz', port: 'metrics' });
      expect(c.readinessProbe.httpGet).toEqual({ path: '/readyz', port: 'metrics' });
      expect(c.securityContext).toMatchObject({ readOnlyRootFilesystem: true, allowPrivilegeEscalation: false });
      // The only writable path is the data volume the run command writes to.
      expect(c.args).toEqual(['run', '--config', '/etc/headroom/config.yaml', '--data-dir', '/var/lib/headroom']);
      expect(c.volumeMounts.map((m) => m.mountPath).sort()).toEqual(['/etc/headroom', '/var/lib/headroom']);
      // Its config: a ConfigMap key that is a valid Headroom config listening on the probed port.
      const key = pod.volumes.find((v) => v.configMap !== undefined)!.configMap!.items[0]!;
      expect(key.path).toBe('config.yaml');
      const text = configMap.data[key.key]!;
      const config = configOrThrow(text, key.key);
      expect(config.sinks.metrics).toMatchObject({ host: '0.0.0.0', port: 9464 });
      expect(config.source.kind).toBe('jetstream');
      partitions.push(...(config.source.kind === 'jetstream' ? config.source.partitions?.ids ?? [] : []));
      // Every secret the config names comes from the Secret the pod loads.
      expect(c.envFrom).toEqual([{ secretRef: { name: secret.metadata.name } }]);
      for (const v of envSecrets(text)) expect(Object.keys(secret.stringData), `${key.key} needs ${v}`).toContain(v);
    }
    // Together the workers take every partition once.
    expect(partitions.sort((a, b) => a - b)).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
  });

  it('the ServiceMonitor scrapes the Service port the workers expose, on /metrics', () => {
    const service = ofKind<{ spec: { selector: Record<string, string>; ports: { name: string; targetPort: string }[] } }>('Service')[0]!;
    const monitor = ofKind<{ spec: { selector: { matchLabels: Record<string, string> }; endpoints: { port: string; path: string }[] } }>('ServiceMonitor')[0]!;
    expect(monitor.spec.endpoints).toEqual([expect.objectContaining({ port: service.spec.ports[0]!.name, path: '/metrics' })]);
    expect(service.spec.ports[0]!.targetPort).toBe('metrics');
    for (const d of ofKind<{ spec: { template: { metadata: { labels: Record<string, string> } } } }>('Deployment')) {
      expect(d.spec.template.metadata.labels).toMatchObject(service.spec.selector);
    }
  });
});

describe('compose stack', () => {
  const text = readFileSync(join(COMPOSE, 'compose.yaml'), 'utf8');
  const compose = parseYaml(text, { merge: true }) as {
    services: Record<string, { image?: string; command?: string[]; volumes?: string[]; build?: { context: string; dockerfile: string }; environment?: Record<string, string> }>;
  };

  it('validates against the Compose Specification', () => {
    // Draft 07 (its $schema names the https form of the draft, which Ajv knows by the http one).
    const { $schema: _draft, ...schema } = JSON.parse(readFileSync('tests/fixtures/schemas/compose-spec/compose-spec.json', 'utf8')) as Record<string, unknown>;
    const ajv = new Ajv({ strict: false, allErrors: true, validateFormats: false });
    const validate = ajv.compile(schema);
    const ok = validate(parseYaml(text, { merge: true }));
    expect(validate.errors ?? [], JSON.stringify(validate.errors)).toEqual([]);
    expect(ok).toBe(true);
    // The schema is strict where it matters: a misspelt service key is caught.
    const misspelt = parseYaml(text.replace('restart: unless-stopped', 'restartt: unless-stopped'), { merge: true }) as unknown;
    expect(validate(misspelt)).toBe(false);
  });

  it('brings up a 3-node NATS cluster, two workers, Prometheus, Alertmanager, InfluxDB and Grafana', () => {
    expect(Object.keys(compose.services).sort()).toEqual(
      ['alertmanager', 'grafana', 'headroom-worker-1', 'headroom-worker-2', 'influxdb', 'nats-1', 'nats-2', 'nats-3', 'prometheus', 'simulator'].sort(),
    );
    // Every bind mount names a file or folder of this repository.
    for (const [name, service] of Object.entries(compose.services)) {
      for (const v of service.volumes ?? []) {
        const host = v.split(':')[0]!;
        if (!host.startsWith('.')) continue;
        expect(existsSync(resolve(COMPOSE, host)), `${name}: ${host}`).toBe(true);
      }
    }
    const build = compose.services['headroom-worker-1']!.build!;
    expect(existsSync(resolve(COMPOSE, build.context, build.dockerfile))).toBe(true);
  });

  it('workers carry valid configs with the demo fleet, split the partitions of the NATS mapping, and are what Prometheus scrapes', () => {
    const demo = loadConfigFile('config/demo-fleet.yaml');
    if (!demo.ok) throw new Error('demo fleet invalid');
    const mapping = /partition\((\d+),1\)/.exec(readFileSync(join(COMPOSE, 'nats.conf'), 'utf8'));
    expect(mapping).not.toBeNull();
    const partitionCount = Number(mapping![1]);
    const ids: number[] = [];
    for (const w of ['headroom-worker-1', 'headroom-worker-2']) {
      const mount = compose.services[w]!.volumes!.find((v) => v.endsWith(':/etc/headroom/config.yaml:ro'))!;
      const r = loadConfigFile(resolve(COMPOSE, mount.split(':')[0]!));
      if (!r.ok) throw new Error(`${w}: ${JSON.stringify(r.issues)}`);
      expect(r.config.topology.sites).toEqual(demo.config.topology.sites);
      expect(r.config.nats?.servers).toEqual(['nats://nats-1:4222', 'nats://nats-2:4222', 'nats://nats-3:4222']);
      if (r.config.source.kind !== 'jetstream') throw new Error('expected jetstream');
      expect(r.config.source.stream.replicas).toBe(3);
      ids.push(...(r.config.source.partitions?.ids ?? []));
      for (const v of envSecrets(readFileSync(resolve(COMPOSE, mount.split(':')[0]!), 'utf8'))) expect(compose.services[w]!.environment).toHaveProperty(v);
    }
    expect(ids.sort((a, b) => a - b)).toEqual(Array.from({ length: partitionCount }, (_, i) => i));
    const prometheus = readFileSync('deploy/prometheus/prometheus.yml', 'utf8');
    expect(prometheus).toContain("'headroom-worker-1:9464', 'headroom-worker-2:9464'");
    expect(prometheus).toContain("'alertmanager:9093'");
  });
});

describe('container image', () => {
  const dockerfile = readFileSync('deploy/container/Dockerfile', 'utf8');
  it('is multi-stage, runs as a non-root user, checks its health on /healthz, keeps dev dependencies out', () => {
    expect(dockerfile.match(/^FROM /gm)).toHaveLength(2);
    expect(dockerfile).toMatch(/^USER 10001:10001$/m);
    expect(dockerfile).toMatch(/^HEALTHCHECK .*\n.*\/healthz/m);
    expect(dockerfile).toContain('npm prune --omit=dev');
    // Everything the runtime stage copies exists in the build context.
    for (const m of dockerfile.matchAll(/^COPY (?!--from)(\S+)/gm)) expect(existsSync(m[1]!), m[1]).toBe(true);
    expect(existsSync(join(dirname('deploy/container/Dockerfile'), 'build-base-image.sh'))).toBe(true);
  });
});
