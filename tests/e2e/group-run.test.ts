/**
 * `headroom run` as a worker of a group (docs/worker-groups.md) against a real nats-server:
 * two workers share the partitions of a stream; `/status`, `/metrics` and `headroom status`
 * show who owns what, the lag and the checkpoints; a SIGTERM hands a worker's partitions
 * to the other, which restores them from the checkpoints it wrote.
 */
import { spawn, execFile, type ChildProcess } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { connect, StringCodec, type NatsConnection } from 'nats';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse as parseYaml, stringify as stringifyYaml } from 'yaml';
import { loadConfigFile } from '../../src/config/index.js';
import type { GroupStatus } from '../../src/pipeline/group/index.js';
import { sitesByPartition } from '../../src/pipeline/group/partition-map.js';
import type { OwnedPartitionStatus } from '../../src/pipeline/group/group-worker.js';
import { createSimulator, NO_FAULTS } from '../../src/sources/index.js';
import { freePort, retryUntil, startNats, type NatsServer } from '../helpers/servers.js';

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const mainJs = join(repoRoot, 'dist/cli/main.js');
const run = promisify(execFile);
const P = 4;
const START_MS = Math.floor(Date.now() / 60_000) * 60_000 - 600_000;

let server: NatsServer;
let nc: NatsConnection;
let dir = '';
const children = new Set<ChildProcess>();

beforeAll(async () => {
  server = await startNats({ extraConfig: `mappings { "telemetry.*.*": "tp.{{partition(${P},1)}}.{{wildcard(1)}}.{{wildcard(2)}}" }` });
  nc = await connect({ servers: server.url });
  dir = await mkdtemp(join(tmpdir(), 'headroom-group-run-'));
});

afterAll(async () => {
  for (const c of children) c.kill('SIGKILL');
  await nc?.close();
  await server?.stop();
  if (dir !== '') await rm(dir, { recursive: true, force: true });
});

interface Worker {
  id: string;
  url: string;
  child: ChildProcess;
  exit: Promise<number | null>;
  stdout: () => string;
}

async function startWorker(id: string, config: string): Promise<Worker> {
  const port = await freePort();
  const args = [mainJs, 'run', '--config', config, '--data-dir', join(dir, id), '--metrics-listen', `127.0.0.1:${port}`, '--worker-id', id, '--log-level', 'warn'];
  const child = spawn(process.execPath, args, { cwd: repoRoot, stdio: ['ignore', 'pipe', 'pipe'] });
  children.add(child);
  let stdout = '';
  child.stdout!.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr!.resume();
  const exit = new Promise<number | null>((r) => child.once('exit', (code) => (children.delete(child), r(code))));
  return { id, url: `http://127.0.0.1:${port}`, child, exit, stdout: () => stdout };
}

interface StatusBody {
  group: { workerId: string; partitions: OwnedPartitionStatus[] };
  counts: { readings: number; recordsOut: number; deadLetters: number };
}

async function status(w: Worker): Promise<StatusBody> {
  const res = await fetch(`${w.url}/status`);
  if (!res.ok) throw new Error(`/status answered ${res.status}`);
  return (await res.json()) as StatusBody;
}

describe('headroom run in a worker group', () => {
  it('two workers share the partitions, show lag and checkpoints, and a SIGTERM hands over', async () => {
    const demo = parseYaml(await readFile(join(repoRoot, 'config/demo-fleet.yaml'), 'utf8')) as Record<string, unknown>;
    const config = join(dir, 'group.yaml');
    await writeFile(
      config,
      stringifyYaml({
        ...demo,
        nats: { servers: [server.url] },
        source: {
          kind: 'jetstream',
          stream: { name: 'GRUN' },
          consumer: { durable: 'grun', expires: '1s' },
          partitions: { count: P },
          group: { name: 'grun', lease: '6s', heartbeat: '1s', safetyMargin: '1500ms', checkpointEvery: '1s' },
        },
        sinks: { ndjson: { path: 'results.ndjson' } },
      }),
    );
    const loaded = loadConfigFile(join(repoRoot, 'config/demo-fleet.yaml'));
    if (!loaded.ok) throw new Error(JSON.stringify(loaded.issues));
    const alpha = await startWorker('alpha', config);
    const beta = await startWorker('beta', config);
    const sim = createSimulator(loaded.config.topology, { seed: 5, rateMs: 1000, startMs: START_MS, batch: true, faults: NO_FAULTS });
    const js = nc.jetstream();
    const sc = StringCodec();
    // The workers create the stream; publish once it exists.
    for (let i = 0; i < 120; i++) for (const [j, m] of sim.tick().messages.entries()) await retryUntil(() => js.publish(m.subject, sc.encode(m.payload), { msgID: `${i}-${j}` }), 60_000, 250);

    // The demo fleet's 3 sites fall into some of the 4 partitions (nats-server's partition()).
    const withSites = new Set(sitesByPartition(loaded.config.topology, P).flatMap((sites, p) => (sites.length > 0 ? [p] : [])));
    expect(withSites.size).toBeGreaterThan(1);
    // Each owns 2 of the 4 partitions, has consumed them and stored a checkpoint of each.
    const settled = await retryUntil(
      async () => {
        const both = await Promise.all([status(alpha), status(beta)]);
        for (const s of both) {
          if (s.group.partitions.length !== P / 2) throw new Error(`${s.group.workerId} owns ${s.group.partitions.length}`);
          for (const p of s.group.partitions) if (p.lastCheckpointAtMs === null || (withSites.has(p.partition) && p.position === 0) || p.pending !== 0) throw new Error(`partition not caught up and checkpointed: ${JSON.stringify(p)}`);
        }
        return both;
      },
      60_000,
      500,
    );
    const owned = settled.flatMap((s) => s.group.partitions.map((p) => p.partition)).sort();
    expect(owned).toEqual([0, 1, 2, 3]);
    expect(settled.every((s) => s.counts.readings > 0)).toBe(true);

    // The group gauges are updated once a second: the scrape after /status showed the checkpoints may precede it.
    const metrics = await retryUntil(
      async () => {
        const text = await (await fetch(`${alpha.url}/metrics`)).text();
        if (!/^headroom_group_checkpoint_bytes\{/m.test(text)) throw new Error('group gauges not updated yet');
        return text;
      },
      10_000,
      200,
    );
    expect(metrics).toMatch(/^headroom_group_partitions_owned\{group="grun"\} 2$/m);
    expect(metrics).toMatch(/^headroom_group_checkpoint_bytes\{group="grun",partition="\d"\} [1-9]\d*$/m);
    expect(metrics).toMatch(/^headroom_readings_total\{outcome="accepted"\} [1-9]\d*$/m);

    // `headroom status`: owners, lag and the newest checkpoint of every partition.
    const { stdout: json } = await run(process.execPath, [mainJs, 'status', '-c', config, '--json'], { cwd: repoRoot, timeout: 30_000 });
    const group = JSON.parse(json) as GroupStatus;
    expect(group.workers.map((w) => w.workerId)).toEqual(['alpha', 'beta']);
    for (const p of group.partitions) {
      const mine = settled.flatMap((s) => s.group.partitions.map((q) => ({ ...q, owner: s.group.workerId }))).find((q) => q.partition === p.partition)!;
      expect(p.owner).toBe(mine.owner);
      expect(p.lagMessages).toBe(0);
      expect(p.lastCheckpointSeq).toBe(withSites.has(p.partition) ? mine.position : 0);
      expect(p.lastCheckpointBytes).toBeGreaterThan(0);
    }
    const { stdout: text } = await run(process.execPath, [mainJs, 'status', '-c', config], { cwd: repoRoot, timeout: 30_000 });
    expect(text).toMatch(/LAG\s+LAST CHECKPOINT/);
    expect(text).toMatch(/^0\s+(alpha|beta)\s+\d+\s+in [\d.]+s\s+0\s+[\d.]+s ago \(seq \d+, \d+ B\)$/m);

    // SIGTERM: alpha checkpoints and frees its partitions; beta restores them from those checkpoints.
    const alphaHeld = settled[0]!.group.partitions.map((p) => p.partition);
    alpha.child.kill('SIGTERM');
    expect(await alpha.exit).toBe(0);
    expect(alpha.stdout()).toMatch(/headroom: stopped — [1-9]\d* readings/);
    const after = await retryUntil(
      async () => {
        const s = await status(beta);
        if (s.group.partitions.length !== P) throw new Error(`beta owns ${s.group.partitions.length}`);
        // Owned as soon as the lease is taken; restored a moment later (null until then).
        const restoring = s.group.partitions.filter((q) => alphaHeld.includes(q.partition) && q.restoredFromSequence === null);
        if (restoring.length > 0) throw new Error(`beta still restoring ${restoring.map((q) => q.partition).join(', ')}`);
        return s;
      },
      30_000,
      200,
    );
    const handed = after.group.partitions.filter((q) => alphaHeld.includes(q.partition));
    for (const p of handed) expect(p.restoredFromSequence, `partition ${p.partition}`).toBe(withSites.has(p.partition) ? settled[0]!.group.partitions.find((q) => q.partition === p.partition)!.position : 0);
    beta.child.kill('SIGTERM');
    expect(await beta.exit).toBe(0);
  }, 180_000);
});
