/**
 * End-to-end throughput through a real nats-server (JetStream), in one run on this machine:
 * (a) a bare nats.js consumer that only decodes the JSON and acks (the ceiling for a Node
 * consumer) and (b) `headroom run` (decode, validate, window, roll up, ack) on the same
 * preloaded messages, for single-reading messages and for gateway batches of 100.
 * Prints readings/s of each and the ratio b/a. Run: npm run bench:e2e
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { connect, StringCodec, type NatsConnection } from 'nats';
import { parse, stringify } from 'yaml';
import { loadConfigFile } from '../src/config/index.js';
import { startNats } from '../tests/helpers/servers.js';

const here = dirname(fileURLToPath(import.meta.url));
const repoRoot = resolve(here, '../..');
const SINGLE_READINGS = Number(process.env['BENCH_SINGLE_READINGS'] ?? 200_000);
const BATCH_READINGS = Number(process.env['BENCH_BATCH_READINGS'] ?? 1_000_000);
const BATCH_SIZE = 100;
const T0 = Date.UTC(2026, 0, 5);

const loaded = loadConfigFile(join(repoRoot, 'config/demo-fleet.yaml'));
if (!loaded.ok) throw new Error('config/demo-fleet.yaml does not load');
const sites = loaded.config.topology.sites.map((s) => ({ id: s.id, meters: s.nodes.flatMap((n) => n.meters) }));
const meterCount = sites.reduce((n, s) => n + s.meters.length, 0);

/** Readings in time order: every meter once a second. Batches hold readings of one site. */
function messages(total: number, perMessage: number): { subject: string; payload: string }[] {
  const out: { subject: string; payload: string }[] = [];
  let made = 0;
  for (let tick = 0; made < total; tick++) {
    for (const site of sites) {
      for (let i = 0; i < site.meters.length && made < total; i += perMessage) {
        const group = site.meters.slice(i, i + perMessage).slice(0, total - made);
        const readings = group.map((meter, k) => ({ site: site.id, meter, ts: T0 + tick * 1000, watts: 1000 + ((tick * 31 + k * 17) % 500) }));
        made += readings.length;
        out.push({ subject: `telemetry.${site.id}.bench`, payload: JSON.stringify(perMessage === 1 ? readings[0] : readings) });
      }
    }
  }
  return out;
}

async function preload(nc: NatsConnection, stream: string, msgs: { subject: string; payload: string }[]): Promise<number> {
  const jsm = await nc.jetstreamManager();
  await jsm.streams.add({ name: stream, subjects: [`${stream.toLowerCase()}.>`] });
  const js = nc.jetstream();
  const sc = StringCodec();
  let last = 0;
  for (let i = 0; i < msgs.length; i += 1000) {
    const acks = await Promise.all(msgs.slice(i, i + 1000).map((m) => js.publish(`${stream.toLowerCase()}.${m.subject}`, sc.encode(m.payload))));
    last = acks[acks.length - 1]!.seq;
  }
  return last;
}

/** Watches a durable consumer: seconds from its first delivery to its last acknowledgement. */
async function timeConsumer(nc: NatsConnection, stream: string, durable: string, lastSeq: number, child: ChildProcess): Promise<number> {
  const jsm = await nc.jetstreamManager();
  let firstMs = NaN;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`${durable}: consumer exited early with ${child.exitCode}`);
    const info = await jsm.consumers.info(stream, durable).catch(() => null);
    const now = performance.now();
    if (info !== null) {
      if (Number.isNaN(firstMs) && info.delivered.stream_seq > 0) firstMs = now;
      if (info.ack_floor.stream_seq >= lastSeq) return (now - firstMs) / 1000;
    }
    await new Promise((r) => setTimeout(r, 10));
  }
}

function headroomConfig(dir: string, url: string, stream: string, durable: string): string {
  const config = parse(readFileSync(join(repoRoot, 'config/demo-fleet.yaml'), 'utf8')) as Record<string, unknown>;
  config['source'] = { kind: 'jetstream', subjectPrefix: `${stream.toLowerCase()}.telemetry`, stream: { name: stream, subjects: [`${stream.toLowerCase()}.>`] }, consumer: { durable, batch: 500, maxAckPending: 10_000, expires: '1s' } };
  config['nats'] = { servers: [url] };
  config['sinks'] = {};
  delete config['alerts'];
  const path = join(dir, `${durable}.yaml`);
  writeFileSync(path, stringify(config));
  return path;
}

async function measure(kind: 'bare' | 'headroom', nc: NatsConnection, url: string, dir: string, stream: string, lastSeq: number): Promise<number> {
  const durable = `${kind}-${stream.toLowerCase()}`;
  const child =
    kind === 'bare'
      ? spawn(process.execPath, [join(here, 'bare-consumer.js'), url, stream, durable, '500'], { stdio: ['ignore', 'ignore', 'inherit'] })
      : spawn(process.execPath, [...(process.env['BENCH_PROFILE_DIR'] ? ['--cpu-prof', '--cpu-prof-dir', process.env['BENCH_PROFILE_DIR']] : []), join(repoRoot, 'dist/cli/main.js'), 'run', '--config', headroomConfig(dir, url, stream, durable), '--log-level', 'warn'], { stdio: ['ignore', 'ignore', 'inherit'] });
  try {
    return await timeConsumer(nc, stream, durable, lastSeq, child);
  } finally {
    child.kill('SIGTERM');
    await new Promise((r) => child.once('exit', r));
  }
}

const server = await startNats({ jetstream: true });
const dir = mkdtempSync(join(tmpdir(), 'headroom-bench-'));
const nc = await connect({ servers: server.url });
try {
  console.log(`nats-server ${server.url}; ${meterCount} meters over ${sites.length} sites (config/demo-fleet.yaml)`);
  const rows: string[] = [];
  for (const [label, total, per, stream] of [
    ['single readings', SINGLE_READINGS, 1, 'BENCH1'],
    [`batches of ${BATCH_SIZE}`, BATCH_READINGS, BATCH_SIZE, 'BENCHN'],
  ] as const) {
    const msgs = messages(total, per);
    const lastSeq = await preload(nc, stream, msgs);
    const bareSeconds = await measure('bare', nc, server.url, dir, stream, lastSeq);
    const headroomSeconds = await measure('headroom', nc, server.url, dir, stream, lastSeq);
    const bare = total / bareSeconds;
    const headroom = total / headroomSeconds;
    rows.push(
      `${label.padEnd(16)} ${msgs.length.toLocaleString('en-US').padStart(9)} msgs  bare ${Math.round(bare).toLocaleString('en-US').padStart(10)} readings/s  headroom ${Math.round(headroom).toLocaleString('en-US').padStart(10)} readings/s  ratio ${(headroom / bare).toFixed(2)}`,
    );
  }
  for (const row of rows) console.log(row);
} finally {
  await nc.close();
  await server.stop();
  rmSync(dir, { recursive: true, force: true });
}
