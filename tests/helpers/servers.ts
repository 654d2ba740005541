/**
 * Real servers for integration and e2e tests, from Debian packages, started on 127.0.0.1
 * with random ports in a fresh temp dir, and torn down by `stop()` (SIGTERM, then SIGKILL
 * after a timeout; awaits exit; removes the temp dir). A missing binary throws
 * `MissingServerBinaryError` naming the Debian package: the run fails, it never skips.
 *
 *   const nats = await startNats({ jetstream: true });
 *   try { ... connect({ servers: nats.url }) ... } finally { await nats.stop(); }
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { accessSync, constants as fsConstants } from 'node:fs';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';

export class MissingServerBinaryError extends Error {
  constructor(
    readonly binary: string,
    readonly debianPackage: string,
  ) {
    super(
      `test server binary '${binary}' not found on PATH or in /usr/sbin, /usr/bin: ` +
        `install the Debian package '${debianPackage}' (bash scripts/install-test-servers.sh)`,
    );
    this.name = 'MissingServerBinaryError';
  }
}

export class ServerStartError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ServerStartError';
  }
}

const START_TIMEOUT_MS = 30_000;
const STOP_GRACE_MS = 10_000;
const POLL_INTERVAL_MS = 50;
const OUTPUT_TAIL_CHARS = 4000;

/** Locate a binary on PATH plus the sbin folders Debian uses (absent from non-root PATHs). */
export function findBinary(binary: string, debianPackage: string): string {
  const dirs = [...(process.env.PATH ?? '').split(delimiter), '/usr/sbin', '/usr/local/sbin', '/sbin', '/usr/bin', '/usr/local/bin', '/bin'];
  for (const dir of dirs) {
    if (dir === '') continue;
    const candidate = join(dir, binary);
    if (isExecutable(candidate)) return candidate;
  }
  throw new MissingServerBinaryError(binary, debianPackage);
}

function isExecutable(path: string): boolean {
  try {
    accessSync(path, fsConstants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** A free TCP port on 127.0.0.1 (bind to port 0, read it, close). */
export async function freePort(): Promise<number> {
  return new Promise<number>((resolvePort, reject) => {
    const server = createServer();
    server.unref();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      if (address === null || typeof address === 'string') {
        server.close();
        reject(new Error('could not read the port of a probe socket'));
        return;
      }
      const { port } = address;
      server.close((err) => (err ? reject(err) : resolvePort(port)));
    });
  });
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Kept here too: the integration tests import it with the servers. */
export { retryUntil } from './wait.js';

/** Every child still alive is killed when the test process exits, whatever happens. */
const liveChildren = new Set<ChildProcess>();
process.once('exit', () => {
  for (const child of liveChildren) child.kill('SIGKILL');
});

/** A spawned server process with captured output and exit tracking. */
class ServerProcess {
  private output = '';
  readonly exited: Promise<void>;
  private exitInfo: string | undefined;

  private constructor(
    readonly name: string,
    private readonly child: ChildProcess,
  ) {
    liveChildren.add(child);
    const onData = (chunk: Buffer): void => {
      this.output = (this.output + chunk.toString('utf8')).slice(-OUTPUT_TAIL_CHARS);
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', onData);
    this.exited = new Promise<void>((resolveExit) => {
      child.once('exit', (code, signal) => {
        this.exitInfo = signal !== null ? `signal ${signal}` : `code ${String(code)}`;
        liveChildren.delete(child);
        resolveExit();
      });
      child.once('error', (err) => {
        this.exitInfo = `spawn error: ${err.message}`;
        liveChildren.delete(child);
        resolveExit();
      });
    });
  }

  static spawn(name: string, binary: string, args: string[], cwd: string): ServerProcess {
    const child = spawn(binary, args, { cwd, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env } });
    return new ServerProcess(name, child);
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  /** Sends a signal while the process runs (SIGSTOP/SIGCONT to hang and resume a server). */
  signal(sig: NodeJS.Signals): void {
    if (!this.hasExited) this.child.kill(sig);
  }

  get hasExited(): boolean {
    return this.exitInfo !== undefined;
  }

  outputTail(): string {
    return this.output;
  }

  /** Poll `ready` until it returns a value; fail early if the process dies. */
  async waitFor<T>(what: string, ready: () => Promise<T | undefined>, timeoutMs = START_TIMEOUT_MS): Promise<T> {
    const deadline = performance.now() + timeoutMs;
    for (;;) {
      if (this.hasExited) {
        throw new ServerStartError(`${this.name} exited (${this.exitInfo ?? '?'}) before ${what}. Output:\n${this.output}`);
      }
      const value = await ready().catch(() => undefined);
      if (value !== undefined) return value;
      if (performance.now() > deadline) {
        await this.stop();
        throw new ServerStartError(`${this.name} not ready (${what}) after ${timeoutMs} ms. Output:\n${this.output}`);
      }
      await sleep(POLL_INTERVAL_MS);
    }
  }

  /** SIGTERM, then SIGKILL after the grace period; resolves once the process has exited. */
  async stop(graceMs = STOP_GRACE_MS): Promise<void> {
    if (this.hasExited) return;
    this.child.kill('SIGTERM');
    const timedOut = await Promise.race([this.exited.then(() => false), sleep(graceMs).then(() => true)]);
    if (timedOut && !this.hasExited) {
      this.child.kill('SIGKILL');
      await this.exited;
    }
  }
}

async function httpStatus(url: string): Promise<number | undefined> {
  const res = await fetch(url, { signal: AbortSignal.timeout(2000) });
  await res.arrayBuffer();
  return res.status;
}

async function makeTempDir(prefix: string): Promise<string> {
  return mkdtemp(join(tmpdir(), `headroom-${prefix}-`));
}

async function removeDir(dir: string): Promise<void> {
  await rm(dir, { recursive: true, force: true, maxRetries: 3 });
}

// ───────────────────────────── NATS ─────────────────────────────

export interface StartNatsOptions {
  /** Enable JetStream with its store in the temp dir (default true). */
  jetstream?: boolean;
  /** Enable the MQTT listener on a random port (implies JetStream and a server_name). */
  mqtt?: boolean;
  /** Extra nats-server config text, appended to the generated config file. */
  extraConfig?: string;
  /** Client port (default: a random one). For a server started after its client: pick it with freePort(). */
  port?: number;
}

export interface NatsServer {
  /** nats://127.0.0.1:<port> */
  url: string;
  port: number;
  /** http://127.0.0.1:<port> (monitoring: /varz, /jsz, /connz). */
  monitorUrl: string;
  /** Set when started with `mqtt: true`. */
  mqttPort?: number;
  /** JetStream store dir (kept across restart). */
  storeDir: string;
  stop(): Promise<void>;
  /**
   * Stop and start again on the same ports and store dir (for resilience tests), after
   * `downMs` (default 0) with no server (an outage).
   */
  restart(downMs?: number): Promise<void>;
  /** SIGSTOP: a hung server (connections stay open, nothing answers) until resume(). */
  pause(): void;
  /** SIGCONT after pause(). */
  resume(): void;
}

interface NatsPortsFile {
  nats?: string[];
  monitoring?: string[];
}

export async function startNats(opts: StartNatsOptions = {}): Promise<NatsServer> {
  const configLines: string[] = [];
  let mqttPort: number | undefined;
  if (opts.mqtt === true) {
    mqttPort = await freePort();
    // MQTT needs a server_name and JetStream (nats-server 2.9).
    configLines.push(`server_name: headroom_test_${mqttPort}`, `mqtt { listen: "127.0.0.1:${mqttPort}" }`);
  }
  if (opts.extraConfig !== undefined) configLines.push(opts.extraConfig);
  const server = await startNatsNode({
    prefix: 'nats',
    configLines,
    jetstream: (opts.jetstream ?? true) || opts.mqtt === true,
    ...(opts.port === undefined ? {} : { port: opts.port }),
  });
  if (mqttPort !== undefined) server.mqttPort = mqttPort;
  return server;
}

export interface StartNatsClusterOptions {
  /** Number of servers (default 3, the smallest JetStream cluster that survives a loss). */
  size?: number;
  /** Extra config text for every member (e.g. `mappings { ... }`). */
  extraConfig?: string;
}

export interface NatsCluster {
  /** Client URLs of all members (pass them all as `servers` to connect()). */
  urls: string[];
  /** The members; stop or restart one to test fail-over. */
  servers: NatsServer[];
  stop(): Promise<void>;
}

/**
 * A JetStream cluster of `size` nats-servers on loopback, each with its own store dir;
 * resolves once every member agrees on the JetStream meta leader and answers /healthz.
 * Even then the first JetStream API calls can briefly answer 503 (no responders) or time
 * out while stream leaders are elected, and again after a member is stopped: clients
 * must retry, as in production.
 */
export async function startNatsCluster(opts: StartNatsClusterOptions = {}): Promise<NatsCluster> {
  // Route ports are picked free, then bound by nats-server: another test file may take one in
  // between. Such a start is tried again with new ports (three times at most).
  for (let attempt = 1; ; attempt++) {
    try {
      return await startNatsClusterOnce(opts);
    } catch (err: unknown) {
      if (attempt >= 3 || !(err instanceof ServerStartError) || !err.message.includes('address already in use')) throw err;
    }
  }
}

async function startNatsClusterOnce(opts: StartNatsClusterOptions): Promise<NatsCluster> {
  const size = opts.size ?? 3;
  const routePorts: number[] = [];
  for (let i = 0; i < size; i++) routePorts.push(await freePort());
  const clusterName = `headroom_test_${routePorts[0] ?? 0}`;
  const routes = routePorts.map((p) => `nats-route://127.0.0.1:${p}`).join(', ');
  const started = await Promise.allSettled(
    routePorts.map((routePort, i) =>
      startNatsNode({
        prefix: `nats-c${i}`,
        jetstream: true,
        configLines: [
          `server_name: ${clusterName}_n${i}`,
          `cluster { name: ${clusterName}, listen: "127.0.0.1:${routePort}", routes: [${routes}] }`,
          ...(opts.extraConfig !== undefined ? [opts.extraConfig] : []),
        ],
      }),
    ),
  );
  const servers = started.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : []));
  const stop = async (): Promise<void> => {
    await Promise.all(servers.map((s) => s.stop()));
  };
  const failed = started.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failed !== undefined) {
    await stop();
    throw failed.reason;
  }
  const deadline = performance.now() + START_TIMEOUT_MS;
  for (;;) {
    const leaders = await Promise.all(servers.map((s) => jetStreamMetaLeader(s.monitorUrl).catch(() => undefined)));
    const healthy = await Promise.all(servers.map((s) => httpStatus(`${s.monitorUrl}/healthz`).catch(() => undefined)));
    if (leaders.every((l) => l !== undefined && l === leaders[0]) && healthy.every((h) => h === 200)) break;
    if (performance.now() > deadline) {
      await stop();
      throw new ServerStartError(`nats cluster of ${size}: no JetStream meta leader after ${START_TIMEOUT_MS} ms`);
    }
    await sleep(POLL_INTERVAL_MS * 4);
  }
  return { urls: servers.map((s) => s.url), servers, stop };
}

async function jetStreamMetaLeader(monitorUrl: string): Promise<string | undefined> {
  const res = await fetch(`${monitorUrl}/jsz`, { signal: AbortSignal.timeout(2000) });
  const body: unknown = await res.json();
  if (typeof body !== 'object' || body === null) return undefined;
  const meta = (body as { meta_cluster?: { leader?: unknown } }).meta_cluster;
  return typeof meta?.leader === 'string' && meta.leader !== '' ? meta.leader : undefined;
}

interface NatsNodeParams {
  prefix: string;
  configLines: string[];
  jetstream: boolean;
  /** Client port; default random. */
  port?: number;
}

async function startNatsNode(params: NatsNodeParams): Promise<NatsServer> {
  const binary = findBinary('nats-server', 'nats-server');
  const dir = await makeTempDir(params.prefix);
  const storeDir = join(dir, 'js');
  const portsDir = join(dir, 'ports');
  await mkdir(storeDir, { recursive: true });
  await mkdir(portsDir, { recursive: true });
  let configFile: string | undefined;
  if (params.configLines.length > 0) {
    configFile = join(dir, 'nats.conf');
    await writeFile(configFile, `${params.configLines.join('\n')}\n`);
  }

  const argsFor = (port: number, monitorPort: number): string[] => {
    const args: string[] = [];
    if (configFile !== undefined) args.push('-c', configFile);
    args.push('-a', '127.0.0.1', '-p', String(port), '-m', String(monitorPort), '--ports_file_dir', portsDir);
    if (params.jetstream) args.push('-js', '-sd', storeDir);
    return args;
  };

  const launch = async (port: number, monitorPort: number): Promise<{ proc: ServerProcess; port: number; monitorPort: number }> => {
    const proc = ServerProcess.spawn('nats-server', binary, argsFor(port, monitorPort), dir);
    const ports = await proc.waitFor('ports file', async () => {
      const files = await readdir(portsDir);
      const name = files.find((f) => f === `nats-server_${proc.pid ?? -1}.ports`);
      if (name === undefined) return undefined;
      const parsed: unknown = JSON.parse(await readFile(join(portsDir, name), 'utf8'));
      return parsePortsFile(parsed);
    });
    return { proc, ...ports };
  };

  let current = await launch(params.port ?? -1, -1);
  const { port, monitorPort } = current;
  return {
    url: `nats://127.0.0.1:${port}`,
    port,
    monitorUrl: `http://127.0.0.1:${monitorPort}`,
    storeDir,
    stop: async () => {
      current.proc.signal('SIGCONT');
      await current.proc.stop();
      await removeDir(dir);
    },
    pause: () => current.proc.signal('SIGSTOP'),
    resume: () => current.proc.signal('SIGCONT'),
    restart: async (downMs = 0) => {
      current.proc.signal('SIGCONT');
      await current.proc.stop();
      if (downMs > 0) await sleep(downMs);
      current = await launch(port, monitorPort);
      if (current.port !== port) throw new ServerStartError(`nats-server restarted on port ${current.port}, not ${port}`);
    },
  };
}

function parsePortsFile(value: unknown): { port: number; monitorPort: number } | undefined {
  if (typeof value !== 'object' || value === null) return undefined;
  const file = value as NatsPortsFile;
  const natsUrl = file.nats?.[0];
  const monitorUrl = file.monitoring?.[0];
  if (natsUrl === undefined || monitorUrl === undefined) return undefined;
  const port = Number(new URL(natsUrl).port);
  const monitorPort = Number(new URL(monitorUrl).port);
  return port > 0 && monitorPort > 0 ? { port, monitorPort } : undefined;
}

// ───────────────────────── VictoriaMetrics ─────────────────────────

export interface VictoriaMetricsServer {
  /** http://127.0.0.1:<port>; InfluxDB v2 write API at /api/v2/write, PromQL at /api/v1/query. */
  url: string;
  port: number;
  /** Make just-written samples searchable now (GET /internal/force_flush). */
  forceFlush(): Promise<void>;
  /** SIGSTOP: a hung server (connections are accepted by the kernel, nothing answers) until resume(). */
  pause(): void;
  /** SIGCONT after pause(). */
  resume(): void;
  stop(): Promise<void>;
}

export interface StartVictoriaMetricsOptions {
  extraArgs?: string[];
  /** Listen on this port (one reserved earlier with freePort()); default a free one. */
  port?: number;
}

export async function startVictoriaMetrics(opts: StartVictoriaMetricsOptions = {}): Promise<VictoriaMetricsServer> {
  const binary = findBinary('victoria-metrics', 'victoria-metrics');
  const dir = await makeTempDir('vm');
  const port = opts.port ?? (await freePort());
  const url = `http://127.0.0.1:${port}`;
  const proc = ServerProcess.spawn(
    'victoria-metrics',
    binary,
    [
      `-httpListenAddr=127.0.0.1:${port}`,
      `-storageDataPath=${join(dir, 'data')}`,
      // Replayed points are old: without a long retention they are silently discarded.
      '-retentionPeriod=100y',
      // Tests query right after writing: don't hide the last 30 s of samples.
      '-search.latencyOffset=0s',
      ...(opts.extraArgs ?? []),
    ],
    dir,
  );
  await proc.waitFor('/health', async () => ((await httpStatus(`${url}/health`)) === 200 ? true : undefined));
  return {
    url,
    port,
    forceFlush: async () => {
      const status = await httpStatus(`${url}/internal/force_flush`);
      if (status !== 200) throw new Error(`victoria-metrics force_flush answered ${String(status)}`);
    },
    pause: () => proc.signal('SIGSTOP'),
    resume: () => proc.signal('SIGCONT'),
    stop: async () => {
      proc.signal('SIGCONT');
      await proc.stop();
      await removeDir(dir);
    },
  };
}

// ─────────────────────────── Prometheus ───────────────────────────

export interface PrometheusServer {
  url: string;
  port: number;
  /** Folder holding prometheus.yml; rule files referenced by the config can be written here. */
  dir: string;
  stop(): Promise<void>;
}

export interface StartPrometheusOptions {
  /** Extra files (name → content) written next to prometheus.yml, e.g. rule files. */
  files?: Record<string, string>;
  extraArgs?: string[];
}

export async function startPrometheus(configYaml: string, opts: StartPrometheusOptions = {}): Promise<PrometheusServer> {
  const binary = findBinary('prometheus', 'prometheus');
  const dir = await makeTempDir('prometheus');
  const configFile = join(dir, 'prometheus.yml');
  await writeFile(configFile, configYaml);
  for (const [name, content] of Object.entries(opts.files ?? {})) await writeFile(join(dir, name), content);
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const proc = ServerProcess.spawn(
    'prometheus',
    binary,
    [
      `--config.file=${configFile}`,
      `--web.listen-address=127.0.0.1:${port}`,
      `--storage.tsdb.path=${join(dir, 'data')}`,
      '--web.enable-lifecycle',
      ...(opts.extraArgs ?? []),
    ],
    dir,
  );
  await proc.waitFor('/-/ready', async () => ((await httpStatus(`${url}/-/ready`)) === 200 ? true : undefined));
  return {
    url,
    port,
    dir,
    stop: async () => {
      await proc.stop();
      await removeDir(dir);
    },
  };
}

// ─────────────────────────── InfluxDB 1.x ───────────────────────────

export interface InfluxDb1Server {
  /** http://127.0.0.1:<port>; InfluxQL at /query, line protocol at /write (1.x API). */
  url: string;
  port: number;
  /** One InfluxQL statement against `db` (default headroom), times in ms; throws on a non-2xx answer. */
  query(q: string, db?: string): Promise<InfluxQlResponse>;
  stop(): Promise<void>;
}

/** What InfluxDB 1.x answers on /query (one result per statement). */
export interface InfluxQlResponse {
  results: { series?: { name: string; tags?: Record<string, string>; columns: string[]; values: unknown[][] }[] }[];
}

export interface StartInfluxdb1Options {
  /** Listen on this port (one reserved earlier with freePort()); default a free one. */
  port?: number;
}

export async function startInfluxdb1(opts: StartInfluxdb1Options = {}): Promise<InfluxDb1Server> {
  const binary = findBinary('influxd', 'influxdb');
  const dir = await makeTempDir('influxdb');
  const port = opts.port ?? (await freePort());
  const rpcPort = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const configFile = join(dir, 'influxdb.conf');
  await writeFile(
    configFile,
    [
      'reporting-disabled = true',
      `bind-address = "127.0.0.1:${rpcPort}"`,
      '[meta]',
      `  dir = "${join(dir, 'meta')}"`,
      '[data]',
      `  dir = "${join(dir, 'data')}"`,
      `  wal-dir = "${join(dir, 'wal')}"`,
      '  query-log-enabled = false',
      '[monitor]',
      '  store-enabled = false',
      '[http]',
      `  bind-address = "127.0.0.1:${port}"`,
      '  log-enabled = false',
      '',
    ].join('\n'),
  );
  const proc = ServerProcess.spawn('influxd', binary, ['run', '-config', configFile], dir);
  await proc.waitFor('/ping', async () => ((await httpStatus(`${url}/ping`)) === 204 ? true : undefined));
  return {
    url,
    port,
    query: async (q, db = 'headroom') => {
      const res = await fetch(`${url}/query?${new URLSearchParams({ q, db, epoch: 'ms' }).toString()}`, { method: 'POST' });
      if (!res.ok) throw new Error(`influxql answered ${res.status}: ${await res.text()}`);
      return (await res.json()) as InfluxQlResponse;
    },
    stop: async () => {
      await proc.stop();
      await removeDir(dir);
    },
  };
}
