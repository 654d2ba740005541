import { readFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import type { Command } from 'commander';
import { Registry } from 'prom-client';
import type { HeadroomConfig, NatsConfig } from '../config/index.js';
import { WindowEngine } from '../core/index.js';
import { AlertEngine } from '../core/alerts/index.js';
import { Pipeline, SimulatorDriver } from '../pipeline/index.js';
import { InfluxSink, MetricsServer, MetricsSink, NatsResultsSink, NdjsonSink, type Readiness, type Sink } from '../sinks/index.js';
import { MemoryBus, MemoryDeadLetterPublisher, MemorySource } from '../sources/index.js';
import { JetStreamSource, NatsDeadLetterPublisher, NatsSource, connectNats, createSimulator, telemetrySubjectPattern, type DeadLetterPublisher, type NatsConnection, type NatsHandle, type Source } from '../sources/index.js';
import { collectProcessMetrics, createLogger, errorText, EXIT_DROPPED_AT_SHUTDOWN, EXIT_OK, EXIT_RUNTIME, EXIT_SECOND_SIGNAL, type Logger } from '../telemetry/index.js';
import { ConfigError, loadConfigOrThrow } from './config-arg.js';
import { durationOption, parseLogLevel } from './simulate.js';
import { SummaryCollector, TerminalSummary } from './summary.js';

interface RunFlags {
  config: string;
  embedded?: boolean;
  dataDir?: string;
  truncateResults?: boolean;
  metricsListen?: string;
  backfill: string;
  summary: boolean;
  summaryInterval: string;
  stopTimeout: string;
  logLevel?: string;
  failFast?: boolean;
}

/** Default metrics endpoint of the embedded default when the config has none. */
const EMBEDDED_METRICS_LISTEN = { host: '127.0.0.1', port: 9464 };
/*
 * Exit codes of `run` after SIGTERM/SIGINT (README "Exit codes"): EXIT_OK when every record
 * was delivered; EXIT_DROPPED_AT_SHUTDOWN when a sink could not deliver within the stop
 * budget and dropped records (counted as reason `shutdown` and logged with the number);
 * EXIT_RUNTIME when the stop overran the budget (a stage ignored its deadline).
 */
/** Past the budget by this much, the process exits with EXIT_RUNTIME whatever is still running. */
const STOP_BACKSTOP_MARGIN_MS = 2_000;
/** Kept back from the pipeline's share of the budget for the metrics server and NATS: a tenth, at most 1 s. */
const CLOSE_RESERVE_SHARE = 0.1;
const CLOSE_RESERVE_MAX_MS = 1_000;

/** Resolves when `promise` settles or after `ms`, whichever is first; true when it settled. */
async function settledWithin(promise: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<false>((resolve) => {
    timer = setTimeout(() => resolve(false), Math.max(0, ms));
  });
  const settled = promise.then(
    () => true as const,
    () => true as const,
  );
  try {
    return await Promise.race([settled, timedOut]);
  } finally {
    clearTimeout(timer);
  }
}

/** `host:port`, `[::1]:port`, `:port` → parts; ConfigError (exit 2) otherwise. */
export function parseListen(flag: string, value: string): { host: string; port: number } {
  const m = /^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9_.-]*):(\d{1,5})$/.exec(value);
  const port = Number(m?.[2]);
  if (m === null || port > 65535) throw new ConfigError(`${flag}: expected host:port, got '${value}'`);
  return { host: (m[1] ?? '').replace(/^\[|\]$/g, ''), port };
}

interface Built {
  source: Source;
  deadLetter?: DeadLetterPublisher;
  /** The in-process bus and its simulator (memory source). */
  bus?: MemoryBus;
  nats?: NatsHandle;
}

/** Connects to NATS for the source, the dead-letter publisher or the results sink. */
type NatsConnector = (cfg: NatsConfig) => Promise<NatsHandle>;

async function buildSource(config: HeadroomConfig, embedded: boolean, log: Logger, connect: NatsConnector): Promise<Built> {
  const src = config.source;
  if (embedded || src.kind === 'memory') {
    const bus = new MemoryBus();
    const source = new MemorySource(bus, { subjectPrefix: src.subjectPrefix, sites: src.sites });
    return { source, bus, deadLetter: new MemoryDeadLetterPublisher(bus, config.deadLetter) };
  }
  if (config.nats === undefined) throw new ConfigError(`source.kind ${src.kind} needs a nats section`);
  const nats = await connect(config.nats);
  const conn = { nc: nats.nc, status: nats.status };
  const deadLetter = new NatsDeadLetterPublisher(nats.nc, config.deadLetter, log);
  if (src.kind === 'nats') return { source: new NatsSource(conn, src, { log, status: nats.status }), deadLetter, nats };
  return { source: new JetStreamSource(conn, src, { log, status: nats.status }), deadLetter, nats };
}

export function registerRunCommand(program: Command): void {
  program
    .command('run')
    .description('run the pipeline as a service (sources → core → sinks) until SIGINT/SIGTERM')
    .requiredOption('-c, --config <file>', 'config file (YAML)')
    .option('--embedded', 'the embedded default: in-process bus fed by the simulator, /metrics, results NDJSON and a live summary')
    .option('--data-dir <dir>', 'directory of the results NDJSON (embedded default: data)')
    .option('--truncate-results', 'empty the results NDJSON at start (default: append, as sinks.ndjson.truncate)')
    .option('--metrics-listen <host:port>', 'override sinks.metrics.listen (port 0 picks a free port)')
    .option('--backfill <duration>', 'embedded: simulated history published at start, so windows close at once', '60s')
    .option('--no-summary', 'embedded: no live terminal summary')
    .option('--summary-interval <duration>', 'embedded: summary refresh period', '3s')
    .option('--stop-timeout <duration>', 'stop budget after SIGTERM/SIGINT: drain the source, close windows, flush sinks; what a sink cannot deliver by then is dropped and counted', '10s')
    .option('--log-level <level>', 'log level on stderr (default: warn for the embedded summary on a terminal, else info)')
    .option('--fail-fast', 'exit 1 at once when NATS cannot be reached at start, instead of waiting for it')
    .action(async (flags: RunFlags) => {
      const config = loadConfigOrThrow(flags.config);
      const embedded = flags.embedded === true;
      const tty = process.stdout.isTTY === true;
      const showSummary = embedded && flags.summary;
      const log = createLogger({ level: flags.logLevel === undefined ? (showSummary && tty ? 'warn' : 'info') : parseLogLevel(flags.logLevel) });
      const backfillMs = flags.backfill === '0' ? 0 : durationOption('--backfill', flags.backfill, { allowZero: true });
      const summaryMs = durationOption('--summary-interval', flags.summaryInterval);
      const stopBudgetMs = durationOption('--stop-timeout', flags.stopTimeout);
      const closeReserveMs = Math.min(CLOSE_RESERVE_MAX_MS, stopBudgetMs * CLOSE_RESERVE_SHARE);
      const metricsOverride = flags.metricsListen === undefined ? undefined : parseListen('--metrics-listen', flags.metricsListen);

      // Signals are handled from here on: SIGTERM while waiting for NATS stops at once (exit 0).
      const stopping = new AbortController();
      let signals = 0;
      const onSignal = (signal: NodeJS.Signals): void => {
        signals++;
        if (signals > 1) {
          log.warn({ signal }, 'second signal; exiting now');
          process.exit(EXIT_SECOND_SIGNAL);
        }
        log.info({ signal }, 'stopping');
        stopping.abort();
      };
      process.on('SIGINT', onSignal);
      process.on('SIGTERM', onSignal);
      // Until the pipeline runs, /readyz answers 503 with this.
      let startup: Readiness = { ready: false, detail: 'starting' };
      const connect: NatsConnector = (cfg) =>
        connectNats(cfg, { env: process.env, readFile: (p) => readFileSync(p, 'utf8'), log }, {
          waitForServer: flags.failFast !== true,
          signal: stopping.signal,
          onWaiting: (detail) => {
            startup = { ready: false, detail };
          },
        });

      const clock = Date.now;
      const registry = new Registry();
      collectProcessMetrics(registry);
      const ndjsonCfg = config.sinks.ndjson;
      const engine = new WindowEngine(config.topology, config.engine, { emitMeters: ndjsonCfg?.meters === true });
      const sinks: Sink[] = [];
      let ndjsonPath: string | null = null;
      if (ndjsonCfg !== undefined || embedded) {
        const configured = ndjsonCfg?.path ?? 'data/results.ndjson';
        const dataDir = flags.dataDir ?? (embedded ? 'data' : undefined);
        ndjsonPath = dataDir === undefined ? configured : join(dataDir, basename(configured));
        const rotate = ndjsonCfg?.rotate;
        sinks.push(
          new NdjsonSink(ndjsonPath, {
            truncate: flags.truncateResults === true || ndjsonCfg?.truncate === true,
            ...(rotate?.maxBytes !== undefined ? { rotateBytes: rotate.maxBytes } : {}),
            ...(rotate?.maxAgeMs !== undefined ? { rotateMs: rotate.maxAgeMs } : {}),
            nowMs: clock,
            log,
          }),
        );
      }
      const metricsCfg = config.sinks.metrics;
      let server: MetricsServer | null = null;
      let pipelineRef: Pipeline | null = null;
      if (metricsCfg !== undefined || embedded || metricsOverride !== undefined) {
        const listen = metricsOverride ?? (metricsCfg === undefined ? EMBEDDED_METRICS_LISTEN : { host: metricsCfg.host, port: metricsCfg.port });
        sinks.push(new MetricsSink(config.topology, { windowsMs: metricsCfg?.windowsMs ?? config.engine.windowsMs, maxDepth: metricsCfg?.maxDepth ?? 10 }, registry));
        server = new MetricsServer({
          ...listen,
          registry,
          log,
          readiness: () => pipelineRef?.readiness() ?? startup,
        });
      }

      if (sinks.length === 0 && config.sinks.influx === undefined && !config.sinks.natsResults.enabled) {
        log.warn({ config: flags.config }, 'no output configured: window results go nowhere (configure sinks.ndjson, sinks.metrics, sinks.influx or sinks.natsResults, or use --embedded)');
      }
      // The listener is up before NATS: probes see "not ready: waiting for NATS …" meanwhile.
      let metricsUrl: string | null = null;
      if (server !== null) {
        const address = await server.start();
        const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
        metricsUrl = `http://${host}:${address.port}/metrics`;
      }
      const built = await buildSource(config, embedded, log, connect);
      const nats = built.nats;
      // Each sink has its own bounded buffer: an InfluxDB outage does not stall /metrics or NATS.
      if (config.sinks.influx !== undefined) sinks.push(new InfluxSink(config.sinks.influx, { log }));
      let resultsConnection: NatsHandle | undefined;
      if (config.sinks.natsResults.enabled) {
        if (config.nats === undefined) throw new ConfigError('sinks.natsResults needs a nats section');
        resultsConnection = nats ?? (await connect(config.nats));
        sinks.push(new NatsResultsSink(config.sinks.natsResults, { nc: resultsConnection.nc, log }));
      }
      const alerts = new AlertEngine(config.topology, config.alerts);
      const pipeline = new Pipeline({
        config: { subjectPrefix: telemetrySubjectPattern(config.source), maxMessageBytes: config.source.maxMessageBytes, lineProtocol: config.source.lineProtocol },
        engine,
        alerts,
        source: built.source,
        sinks,
        ...(config.deadLetter.enabled && built.deadLetter !== undefined ? { deadLetter: built.deadLetter } : {}),
        clock,
        logger: log,
        registry,
        ...(nats === undefined ? {} : { natsStatus: nats.status }),
        stopTimeoutMs: stopBudgetMs - closeReserveMs,
      });
      pipelineRef = pipeline;
      await pipeline.start();

      // The in-process simulator feeds the bus (embedded default, or a memory source).
      let driver: SimulatorDriver | null = null;
      let driverDone: Promise<void> = Promise.resolve();
      if (built.bus !== undefined) {
        const bus = built.bus;
        const rateMs = config.simulator.rateMs;
        const nowMs = clock();
        const startMs = Math.floor((nowMs - backfillMs) / rateMs) * rateMs;
        const simulator = createSimulator(config.topology, { seed: config.simulator.seed, rateMs, startMs, batch: config.simulator.batch, faults: config.simulator.faults });
        driver = new SimulatorDriver({ simulator, clock, speed: 1, publish: (m) => void bus.publish(m.subject, m.payload) });
        driverDone = driver.run().catch((err: unknown) => {
          log.error({ err: errorText(err) }, 'simulator stopped with an error');
        });
      }

      let summary: TerminalSummary | null = null;
      if (showSummary) {
        const collector = new SummaryCollector(config.topology, config.engine.windowsMs[0] ?? 10_000);
        pipeline.onRecords((records) => collector.observe(records));
        summary = new TerminalSummary({
          collector,
          clock,
          out: process.stdout,
          refreshMs: summaryMs,
          info: [metricsUrl === null ? null : `metrics ${metricsUrl}`, ndjsonPath === null ? null : `results ${ndjsonPath}`].filter((s): s is string => s !== null),
          totals: () => ({
            readings: pipeline.counters.readings,
            deadLetters: pipeline.deadLetterCount,
            alerts: collector.alerts,
            alertsFiring: collector.alertsFiring,
            sourcePaused: pipeline.status().sourcePaused,
          }),
        });
        summary.start();
      }
      const sites = config.topology.sites.length;
      const meters = config.topology.sites.reduce((n, s) => n + s.nodes.reduce((m, x) => m + x.meters.length, 0) + s.gridMeters.length, 0);
      process.stdout.write(
        `headroom: running${embedded ? ' (embedded: simulator → in-process bus)' : ''} — ${sites} sites, ${meters} meters, source ${built.source.kind}` +
          `${metricsUrl === null ? '' : `; metrics ${metricsUrl}`}${ndjsonPath === null ? '' : `; results ${ndjsonPath}`}; Ctrl-C to stop\n`,
      );

      if (!stopping.signal.aborted) await new Promise<void>((resolve) => stopping.signal.addEventListener('abort', () => resolve(), { once: true }));

      // Graceful stop within one budget: source, windows, sinks (the pipeline's share), then
      // the metrics server and NATS (the reserve). A backstop exits if anything ignores it.
      const stopStartedMs = performance.now();
      const force = setTimeout(() => {
        log.error({ budgetMs: stopBudgetMs, marginMs: STOP_BACKSTOP_MARGIN_MS }, 'shutdown overran its budget; exiting');
        process.exit(EXIT_RUNTIME);
      }, stopBudgetMs + STOP_BACKSTOP_MARGIN_MS);
      force.unref();
      const leftMs = (): number => Math.max(0, stopBudgetMs - (performance.now() - stopStartedMs));
      summary?.stop();
      driver?.stop();
      await driverDone;
      let code = EXIT_OK;
      try {
        const report = await pipeline.stop();
        if (report.overran.length > 0) code = EXIT_RUNTIME;
        else if (report.droppedRecords > 0) code = EXIT_DROPPED_AT_SHUTDOWN;
      } catch (err: unknown) {
        log.error({ err: errorText(err) }, 'pipeline stop failed');
        code = EXIT_RUNTIME;
      }
      summary?.render();
      if (server !== null && !(await settledWithin(server.stop(), leftMs()))) log.warn('metrics server did not close within the stop budget');
      const natsClosing = [nats, resultsConnection !== nats ? resultsConnection : undefined].filter((h): h is NatsHandle => h !== undefined).map((h) => closeNats(h.nc, log));
      if (!(await settledWithin(Promise.all(natsClosing), leftMs()))) log.warn('NATS did not drain within the stop budget');
      const status = pipeline.status();
      process.stdout.write(
        `headroom: stopped — ${pipeline.counters.readings} readings, ${status.recordsOut} window records, ${pipeline.deadLetterCount} dead letters` +
          `${ndjsonPath === null ? '' : ` → ${ndjsonPath}`}\n`,
      );
      process.exitCode = code;
    });
}

async function closeNats(nc: NatsConnection, log: Logger): Promise<void> {
  try {
    await nc.drain();
  } catch (err: unknown) {
    log.warn({ err: errorText(err) }, 'NATS drain failed; closing');
    await nc.close();
  }
}
