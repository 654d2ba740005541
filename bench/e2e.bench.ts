/**
 * End-to-end throughput through a real nats-server (JetStream), in one run on this machine:
 * (a) a bare nats.js consumer that only decodes the JSON and acks (the ceiling for a Node
 * consumer) and (b) `headroom run` (decode, validate, window, roll up, ack) on the same
 * preloaded messages. Scenarios: the demo fleet (config/demo-fleet.yaml) with single-reading
 * messages and with gateway batches of 100, and a generated fleet of 100,015 meters (the core
 * bench's shape, bench/fleet.ts) with batches of 100, every meter once a second.
 * Prints readings/s of each and the ratio b/a; `--json FILE` writes the figures too.
 *
 * Sinks (BENCH_SINKS=all, the default): `headroom run` writes to all four outputs, NDJSON (a
 * temp file), Prometheus (/metrics on a random port), InfluxDB (victoria-metrics' v2 write
 * API) and NATS results (the same nats-server), and the delivery delay per sink
 * (headroom_sink_delivery_delay_seconds) is read from its /metrics once the stream is consumed
 * and every sink's buffer is empty: p50/p99 and the max's bucket bound, per scenario.
 * BENCH_SINKS=none runs without outputs (throughput of the core path alone).
 *
 *   npm run bench:e2e [-- --json FILE]
 *   env: BENCH_SINGLE_READINGS (200000), BENCH_BATCH_READINGS (1000000), BENCH_FLEET_RACKS
 *   (100000), BENCH_FLEET_SECONDS (60: seconds of event time), BENCH_SCENARIOS
 *   (single,batch,fleet), BENCH_SINKS (all | none), BENCH_PROFILE_DIR (CPU profiles of headroom run)
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { connect, StringCodec, type NatsConnection } from 'nats';
import { parse, stringify } from 'yaml';
import { loadConfigFile } from '../src/config/index.js';
import { freePort, startNats, startVictoriaMetrics, type VictoriaMetricsServer } from '../tests/helpers/servers.js';
import { deliveryDelayRows, deliveryDelays, type DeliveryDelay } from './delivery-delay.js';
import { generateFleet, type FleetSite } from './fleet.js';
import { envNumber, writeReport } from './report.js';

const here = dirname(fileURLToPath(import.meta.url));
const repoRoot = resolve(here, '../..');
const SINGLE_READINGS = envNumber('BENCH_SINGLE_READINGS', 200_000);
const BATCH_READINGS = envNumber('BENCH_BATCH_READINGS', 1_000_000);
const FLEET_RACKS = envNumber('BENCH_FLEET_RACKS', 100_000);
const FLEET_SECONDS = envNumber('BENCH_FLEET_SECONDS', 60);
const SCENARIOS = new Set((process.env['BENCH_SCENARIOS'] ?? 'single,batch,fleet').split(','));
const SINKS = process.env['BENCH_SINKS'] ?? 'all';
if (SINKS !== 'all' && SINKS !== 'none') throw new Error(`BENCH_SINKS must be all or none, got '${SINKS}'`);
/** Longest wait, after the last ack, for every sink's buffer to empty before /metrics is read (then read anyway). */
const SINKS_DRAINED_TIMEOUT_MS = 120_000;
const BATCH_SIZE = 100;
const T0 = Date.UTC(2026, 0, 5);

const loaded = loadConfigFile(join(repoRoot, 'config/demo-fleet.yaml'));
if (!loaded.ok) throw new Error('config/demo-fleet.yaml does not load');
const demoSites: FleetSite[] = loaded.config.topology.sites.map((s) => ({ id: s.id, meters: s.nodes.flatMap((n) => n.meters) }));
const demoConfig = parse(readFileSync(join(repoRoot, 'config/demo-fleet.yaml'), 'utf8')) as Record<string, unknown>;

interface Message {
  subject: string;
  payload: string;
}

/**
 * Readings in time order: every meter once a second, `total` readings. Batches hold readings
 * of one site. A generator, so 100,000 meters over a minute never sit in memory at once.
 */
function* messages(sites: readonly FleetSite[], total: number, perMessage: number): Generator<Message> {
  let made = 0;
  for (let tick = 0; made < total; tick++) {
    for (const site of sites) {
      for (let i = 0; i < site.meters.length && made < total; i += perMessage) {
        const group = site.meters.slice(i, i + perMessage).slice(0, total - made);
        const readings = group.map((meter, k) => ({ site: site.id, meter, ts: T0 + tick * 1000, watts: 1000 + ((tick * 31 + k * 17) % 500) }));
        made += readings.length;
        yield { subject: `telemetry.${site.id}.bench`, payload: JSON.stringify(perMessage === 1 ? readings[0] : readings) };
      }
    }
  }
}

/** Publishes every message to a new stream, 1,000 in flight; returns the message count and the last sequence. */
async function preload(nc: NatsConnection, stream: string, msgs: Iterable<Message>): Promise<{ count: number; lastSeq: number }> {
  const jsm = await nc.jetstreamManager();
  await jsm.streams.add({ name: stream, subjects: [`${stream.toLowerCase()}.>`] });
  const js = nc.jetstream();
  const sc = StringCodec();
  let lastSeq = 0;
  let count = 0;
  let chunk: Message[] = [];
  const flush = async (): Promise<void> => {
    const acks = await Promise.all(chunk.map((m) => js.publish(`${stream.toLowerCase()}.${m.subject}`, sc.encode(m.payload))));
    lastSeq = Math.max(lastSeq, ...acks.map((a) => a.seq));
    count += chunk.length;
    chunk = [];
  };
  for (const m of msgs) {
    chunk.push(m);
    if (chunk.length === 1000) await flush();
  }
  if (chunk.length > 0) await flush();
  return { count, lastSeq };
}

/** Watches a durable consumer: seconds from its first delivery to its last acknowledgement. */
async function timeConsumer(nc: NatsConnection, stream: string, durable: string, lastSeq: number, child: ChildProcess): Promise<number> {
  const jsm = await nc.jetstreamManager();
  let firstMs = NaN;
  // The last poll that saw nothing delivered: a small stream can be consumed entirely between
  // two polls, and then delivery started after that poll.
  let idleMs = performance.now();
  for (;;) {
    if (child.exitCode !== null) throw new Error(`${durable}: consumer exited early with ${child.exitCode}`);
    const info = await jsm.consumers.info(stream, durable).catch(() => null);
    const now = performance.now();
    if (info !== null) {
      if (Number.isNaN(firstMs) && info.delivered.stream_seq > 0) firstMs = info.ack_floor.stream_seq >= lastSeq ? idleMs : now;
      if (info.ack_floor.stream_seq >= lastSeq) return (now - firstMs) / 1000;
    }
    if (Number.isNaN(firstMs)) idleMs = now;
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** Where `headroom run` writes when the bench runs with sinks. */
interface SinkTargets {
  metricsPort: number;
  influxUrl: string;
}

function headroomConfig(base: Record<string, unknown>, dir: string, url: string, stream: string, durable: string, sinks: SinkTargets | null): string {
  const config = structuredClone(base);
  config['source'] = { kind: 'jetstream', subjectPrefix: `${stream.toLowerCase()}.telemetry`, stream: { name: stream, subjects: [`${stream.toLowerCase()}.>`] }, consumer: { durable, batch: 500, maxAckPending: 10_000, expires: '1s' } };
  config['nats'] = { servers: [url] };
  config['sinks'] =
    sinks === null
      ? {}
      : {
          ndjson: { path: join(dir, `${durable}.ndjson`), truncate: true },
          metrics: { listen: `127.0.0.1:${sinks.metricsPort}` },
          influx: { url: sinks.influxUrl, org: 'bench', bucket: 'bench' },
          natsResults: { enabled: true, resultsPrefix: 'benchout.results', alertsPrefix: 'benchout.alerts' },
        };
  delete config['alerts'];
  const path = join(dir, `${durable}.yaml`);
  writeFileSync(path, stringify(config));
  return path;
}

/**
 * Polls /metrics until no sink holds anything (headroom_sink_buffered_records all 0), at most
 * SINKS_DRAINED_TIMEOUT_MS; returns the last scrape and what each sink still held then.
 */
async function scrapeWhenDrained(metricsUrl: string, child: ChildProcess): Promise<{ text: string; stillBuffered: Record<string, number> }> {
  const deadlineMs = performance.now() + SINKS_DRAINED_TIMEOUT_MS;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`headroom exited early with ${child.exitCode}`);
    const text = await (await fetch(metricsUrl)).text();
    const stillBuffered: Record<string, number> = {};
    for (const m of text.matchAll(/^headroom_sink_buffered_records\{sink="([^"]+)"\} (\S+)$/gm)) if (Number(m[2]) > 0) stillBuffered[m[1] ?? ''] = Number(m[2]);
    if (Object.keys(stillBuffered).length === 0 || performance.now() > deadlineMs) return { text, stillBuffered };
    await new Promise((r) => setTimeout(r, 250));
  }
}

interface Measured {
  seconds: number;
  /** Delivery delay per sink (headroom with sinks only). */
  delivery?: Record<string, DeliveryDelay>;
  /** Records or points a sink still held when /metrics was read (its last ones not yet delivered). */
  stillBuffered?: Record<string, number>;
}

async function measure(kind: 'bare' | 'headroom', base: Record<string, unknown>, nc: NatsConnection, url: string, dir: string, stream: string, lastSeq: number, vm: VictoriaMetricsServer | null): Promise<Measured> {
  const durable = `${kind}-${stream.toLowerCase()}`;
  const sinks = kind === 'headroom' && vm !== null ? { metricsPort: await freePort(), influxUrl: vm.url } : null;
  const child =
    kind === 'bare'
      ? spawn(process.execPath, [join(here, 'bare-consumer.js'), url, stream, durable, '500'], { stdio: ['ignore', 'ignore', 'inherit'] })
      : spawn(process.execPath, [...(process.env['BENCH_PROFILE_DIR'] ? ['--cpu-prof', '--cpu-prof-dir', process.env['BENCH_PROFILE_DIR']] : []), join(repoRoot, 'dist/cli/main.js'), 'run', '--config', headroomConfig(base, dir, url, stream, durable, sinks), '--log-level', 'warn'], { stdio: ['ignore', 'ignore', 'inherit'] });
  try {
    const seconds = await timeConsumer(nc, stream, durable, lastSeq, child);
    if (sinks === null) return { seconds };
    const scrape = await scrapeWhenDrained(`http://127.0.0.1:${sinks.metricsPort}/metrics`, child);
    return { seconds, delivery: deliveryDelays(scrape.text), stillBuffered: scrape.stillBuffered };
  } finally {
    child.kill('SIGTERM');
    await new Promise((r) => child.once('exit', r));
  }
}

interface Scenario {
  key: string;
  label: string;
  sites: FleetSite[];
  config: Record<string, unknown>;
  readings: number;
  perMessage: number;
  stream: string;
}

const scenarios: Scenario[] = [];
if (SCENARIOS.has('single')) scenarios.push({ key: 'demoSingle', label: 'demo, single readings', sites: demoSites, config: demoConfig, readings: SINGLE_READINGS, perMessage: 1, stream: 'BENCH1' });
if (SCENARIOS.has('batch')) scenarios.push({ key: 'demoBatch', label: `demo, batches of ${BATCH_SIZE}`, sites: demoSites, config: demoConfig, readings: BATCH_READINGS, perMessage: BATCH_SIZE, stream: 'BENCHN' });
if (SCENARIOS.has('fleet')) {
  const fleet = generateFleet(FLEET_RACKS);
  scenarios.push({ key: 'fleetBatch', label: `${fleet.meterCount.toLocaleString('en-US')} meters, batches of ${BATCH_SIZE}`, sites: fleet.sites, config: fleet.config, readings: Math.round(fleet.meterCount * FLEET_SECONDS), perMessage: BATCH_SIZE, stream: 'BENCHF' });
}

const server = await startNats({ jetstream: true });
const vm = SINKS === 'all' ? await startVictoriaMetrics() : null;
const dir = mkdtempSync(join(tmpdir(), 'headroom-bench-'));
const nc = await connect({ servers: server.url });
try {
  console.log(`nats-server ${server.url}; node ${process.version}; sinks: ${SINKS === 'all' ? `ndjson, metrics, influx (victoria-metrics ${vm?.url ?? ''}), nats-results` : 'none'}`);
  const rows: string[] = [];
  const figures: Record<string, unknown> = {};
  for (const sc of scenarios) {
    const meters = sc.sites.reduce((n, s) => n + s.meters.length, 0);
    const { count, lastSeq } = await preload(nc, sc.stream, messages(sc.sites, sc.readings, sc.perMessage));
    const bareSeconds = (await measure('bare', sc.config, nc, server.url, dir, sc.stream, lastSeq, vm)).seconds;
    const measured = await measure('headroom', sc.config, nc, server.url, dir, sc.stream, lastSeq, vm);
    const headroomSeconds = measured.seconds;
    const bare = sc.readings / bareSeconds;
    const headroom = sc.readings / headroomSeconds;
    figures[sc.key] = {
      meters,
      sites: sc.sites.length,
      messages: count,
      readings: sc.readings,
      readingsPerMessage: sc.perMessage,
      bareSeconds,
      headroomSeconds,
      bareReadingsPerSecond: bare,
      headroomReadingsPerSecond: headroom,
      ratio: headroom / bare,
      ...(measured.delivery === undefined ? {} : { deliveryDelay: measured.delivery }),
      ...(measured.stillBuffered === undefined ? {} : { stillBufferedAtScrape: measured.stillBuffered }),
    };
    rows.push(
      `${sc.label.padEnd(32)} ${count.toLocaleString('en-US').padStart(9)} msgs  bare ${Math.round(bare).toLocaleString('en-US').padStart(10)} readings/s  headroom ${Math.round(headroom).toLocaleString('en-US').padStart(10)} readings/s  ratio ${(headroom / bare).toFixed(2)}`,
    );
    console.log(rows[rows.length - 1]);
    for (const row of deliveryDelayRows(measured.delivery ?? {})) console.log(row);
    for (const [sink, n] of Object.entries(measured.stillBuffered ?? {})) console.log(`  ${sink} still held ${n.toLocaleString('en-US')} after ${SINKS_DRAINED_TIMEOUT_MS / 1000} s (not in its delays)`);
  }
  const written = writeReport('e2e', figures);
  if (written !== undefined) console.log(`figures written to ${written}`);
} finally {
  await nc.close();
  await Promise.all([server.stop(), vm?.stop()]);
  rmSync(dir, { recursive: true, force: true });
}
