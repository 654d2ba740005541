/**
 * The whole service assembled in one place, outside any command-line parsing: engine, alert
 * rules, source (and NATS), sinks, the /metrics server and the in-process simulator, with
 * one `start()` and one `stop()` within a budget. `headroom run` (and so `npm start`) builds
 * it from its flags and owns the signals; worker groups build one per worker.
 *
 * Start order: the /metrics listener first (probes see "not ready: waiting for NATS …"
 * meanwhile), then the source (waiting for NATS unless told not to), the remote sinks, the
 * pipeline, and last the simulator that feeds the in-process bus.
 * Stop, within `stopBudgetMs`: the simulator, the pipeline (its share: the budget less a
 * reserve for what follows), then the metrics server and the NATS connections.
 */
import { readFileSync } from 'node:fs';
import { Registry } from 'prom-client';
import { defaultMetricsWindowsMs, type HeadroomConfig, type JetStreamSourceConfig } from '../config/index.js';
import { WindowEngine } from '../core/index.js';
import { AlertEngine } from '../core/alerts/index.js';
import { InfluxSink, MetricsServer, MetricsSink, NatsResultsSink, type Readiness, type Sink } from '../sinks/index.js';
import { connectNats, createSimulator, NatsDeadLetterPublisher, telemetrySubjectPattern, type NatsConnection, type NatsHandle } from '../sources/index.js';
import { collectProcessMetrics, errorText, type Logger } from '../telemetry/index.js';
import { CheckpointStore } from './group/checkpoint-store.js';
import type { WorkerCounts } from './group/group-health.js';
import { GroupWorker } from './group/group-worker.js';
import { defaultWorkerId } from './group/membership.js';
import type { StopReport } from './pipeline-types.js';
import { NO_COUNTS, Pipeline } from './runner.js';
import { busPublisher, SimulatorDriver } from './runner-simulator.js';
import { buildNdjsonSink, buildSource, ServiceConfigError, type BuiltSource, type NatsConnector } from './service-parts.js';
import { closeSinksWithin, shutdownDrops, within } from './stop-budget.js';

export { ServiceConfigError } from './service-parts.js';

export interface ServiceOptions {
  config: HeadroomConfig;
  /** The embedded default: in-process bus fed by the simulator, /metrics and results NDJSON. */
  embedded: boolean;
  /** Directory of the results NDJSON (embedded default: data). */
  dataDir?: string;
  /** Empty the results NDJSON at start (else as sinks.ndjson.truncate). */
  truncateResults?: boolean;
  /** Overrides sinks.metrics.listen (and turns /metrics on). */
  metricsListen?: { host: string; port: number };
  /** Simulated history published at start by the in-process simulator. Default 0. */
  backfillMs?: number;
  /** The whole stop budget. */
  stopBudgetMs: number;
  /** Wait for NATS at start (retrying) instead of failing at once. Default true. */
  waitForNats?: boolean;
  /** Aborting it gives up waiting for NATS at start. */
  signal?: AbortSignal;
  /** Processing clock, ms since the epoch. Default Date.now. */
  clock?: () => number;
  log: Logger;
  /** Environment for NATS credentials. Default process.env. */
  env?: NodeJS.ProcessEnv;
  /** Named in the warning when no output is configured. */
  configPath?: string;
  /** This worker's id in its group (source.group). Default `<hostname>-<pid>-<random>`. */
  workerId?: string;
}

/** What `stop()` did: the pipeline's report, or null when its stop failed (logged). */
export interface ServiceStopReport {
  pipeline: StopReport | null;
}

/** Default metrics endpoint of the embedded default when the config has none. */
const EMBEDDED_METRICS_LISTEN = { host: '127.0.0.1', port: 9464 };
/** Embedded simulator: messages queued for the pipeline before the simulator waits (the bus drops past 10,000). */
const SIMULATOR_MAX_BACKLOG_MESSAGES = 2_000;
/** Kept back from the pipeline's share of the budget for the metrics server and NATS: a tenth, at most 1 s. */
const CLOSE_RESERVE_SHARE = 0.1;
const CLOSE_RESERVE_MAX_MS = 1_000;
/** Of a group worker's stop budget, what the hand-over (checkpoints, freed leases) may take before the sinks close. */
const HAND_OVER_SHARE = 0.7;

export class HeadroomService {
  readonly registry = new Registry();
  readonly engine: WindowEngine;
  /** The results NDJSON file, when one is written. */
  readonly ndjsonPath: string | null;
  /** The /metrics URL once started, when served. */
  metricsUrl: string | null = null;

  private readonly clock: () => number;
  private readonly log: Logger;
  private readonly sinks: Sink[] = [];
  private readonly server: MetricsServer | null = null;
  private built: BuiltSource | null = null;
  private resultsConnection: NatsHandle | undefined;
  private running: Pipeline | null = null;
  /** The worker, when the source is a group's (source.group): it runs one pipeline per owned partition. */
  private group: GroupWorker | null = null;
  private groupNats: NatsHandle | undefined;
  /** A group worker's second connection, for its leases and heartbeats only. */
  private membershipNats: NatsHandle | undefined;
  private driver: SimulatorDriver | null = null;
  private driverDone: Promise<void> = Promise.resolve();
  /** Until the pipeline runs, /readyz answers 503 with this. */
  private startup: Readiness = { ready: false, detail: 'starting' };

  constructor(private readonly opts: ServiceOptions) {
    const { config, log } = opts;
    this.log = log;
    this.clock = opts.clock ?? Date.now;
    collectProcessMetrics(this.registry);
    this.engine = new WindowEngine(config.topology, config.engine, { emitMeters: config.sinks.ndjson?.meters === true });
    // Each batch goes to the sinks in order, so a sink's delivery delay includes the sinks
    // before it: /metrics (in process, cheap) first, the NDJSON file next, then the network
    // outputs added at start, InfluxDB (whose line encoding costs most) last.
    const metricsCfg = config.sinks.metrics;
    if (metricsCfg !== undefined || opts.embedded || opts.metricsListen !== undefined) {
      const listen = opts.metricsListen ?? (metricsCfg === undefined ? EMBEDDED_METRICS_LISTEN : { host: metricsCfg.host, port: metricsCfg.port });
      this.sinks.push(new MetricsSink(config.topology, { windowsMs: metricsCfg?.windowsMs ?? defaultMetricsWindowsMs(config.engine.windowsMs), levels: metricsCfg?.levels, maxDepth: metricsCfg?.maxDepth }, this.registry));
      this.server = new MetricsServer({ ...listen, registry: this.registry, log, readiness: () => this.running?.readiness() ?? this.group?.readiness() ?? this.startup, status: () => this.status() });
    }
    const ndjson = buildNdjsonSink(config, { embedded: opts.embedded, ...(opts.dataDir === undefined ? {} : { dataDir: opts.dataDir }), truncate: opts.truncateResults === true, clock: this.clock, log });
    this.ndjsonPath = ndjson?.path ?? null;
    if (ndjson !== null) this.sinks.push(ndjson.sink);
  }

  /** The running pipeline (counters, status, `onRecords`); throws before `start()` succeeded. */
  get pipeline(): Pipeline {
    if (this.running === null) throw new Error('service not started');
    return this.running;
  }

  /** The source's kind, once started. */
  get sourceKind(): string {
    if (this.group !== null) return `jetstream, worker ${this.group.workerId} of group ${this.opts.config.source.kind === 'jetstream' ? this.opts.config.source.group?.name : ''}`;
    return this.built?.source.kind ?? 'none';
  }

  /** Readings, window records and dead letters so far (a group worker: over every partition it ran). */
  counts(): WorkerCounts {
    if (this.group !== null) return this.group.counts();
    return this.running?.counts() ?? { ...NO_COUNTS };
  }

  /** What `/status` answers: the group worker's partitions, else the pipeline's state. */
  status(): unknown {
    if (this.group !== null) return { group: this.group.status(), counts: this.group.counts() };
    return this.running === null ? { state: 'starting' } : { pipeline: this.running.status(), counts: this.counts() };
  }

  async start(): Promise<void> {
    const { config, log } = this.opts;
    if (this.sinks.length === 0 && config.sinks.influx === undefined && !config.sinks.natsResults.enabled) {
      log.warn({ config: this.opts.configPath }, 'no output configured: window results go nowhere (configure sinks.ndjson, sinks.metrics, sinks.influx or sinks.natsResults, or use --embedded)');
    }
    if (this.server !== null) {
      const address = await this.server.start();
      const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
      this.metricsUrl = `http://${host}:${address.port}/metrics`;
    }
    const connect: NatsConnector = (cfg) =>
      connectNats(cfg, { env: this.opts.env ?? process.env, readFile: (p) => readFileSync(p, 'utf8'), log }, {
        waitForServer: this.opts.waitForNats !== false,
        ...(this.opts.signal === undefined ? {} : { signal: this.opts.signal }),
        onWaiting: (detail) => {
          this.startup = { ready: false, detail };
        },
      });
    const group = this.opts.embedded ? null : groupConfigOf(config);
    if (group !== null) {
      await this.startGroup(group, connect);
      return;
    }
    const built = await buildSource(config, this.opts.embedded, log, connect);
    this.built = built;
    await this.addRemoteSinks(built.nats, connect);
    const closeReserveMs = Math.min(CLOSE_RESERVE_MAX_MS, this.opts.stopBudgetMs * CLOSE_RESERVE_SHARE);
    const pipeline = new Pipeline({
      config: { subjectPrefix: telemetrySubjectPattern(config.source), maxMessageBytes: config.source.maxMessageBytes, lineProtocol: config.source.lineProtocol },
      engine: this.engine,
      alerts: new AlertEngine(config.topology, config.alerts),
      source: built.source,
      sinks: this.sinks,
      ...(config.deadLetter.enabled && built.deadLetter !== undefined ? { deadLetter: built.deadLetter } : {}),
      clock: this.clock,
      logger: log,
      registry: this.registry,
      ...(built.nats === undefined ? {} : { natsStatus: built.nats.status }),
      stopTimeoutMs: this.opts.stopBudgetMs - closeReserveMs,
    });
    this.running = pipeline;
    await pipeline.start();
    if (built.bus !== undefined) this.startSimulator(built.bus);
  }

  /** InfluxDB and NATS results, each with its own bounded buffer: an InfluxDB outage does not stall /metrics or NATS. */
  private async addRemoteSinks(nats: NatsHandle | undefined, connect: NatsConnector): Promise<void> {
    const { config, log } = this.opts;
    if (config.sinks.natsResults.enabled) {
      if (config.nats === undefined) throw new ServiceConfigError('sinks.natsResults needs a nats section');
      this.resultsConnection = nats ?? (await connect(config.nats));
      this.sinks.push(new NatsResultsSink(config.sinks.natsResults, { nc: this.resultsConnection.nc, log }));
    }
    if (config.sinks.influx !== undefined) this.sinks.push(new InfluxSink(config.sinks.influx, { log }));
  }

  /**
   * A worker of a group (docs/worker-groups.md): one NATS connection for the data (consumers,
   * checkpoints, results) and one for its leases and heartbeats, the sinks shared by the
   * partitions it comes to own (started here, closed by `stop()`), the checkpoint store, and
   * the worker that joins the group and runs a pipeline per owned partition.
   */
  private async startGroup(config: GroupConfig, connect: NatsConnector): Promise<void> {
    const { log } = this.opts;
    const nats = await connect(config.nats);
    this.groupNats = nats;
    this.membershipNats = await connect(config.nats);
    await this.addRemoteSinks(nats, connect);
    for (const sink of this.sinks) await sink.start?.();
    const group = config.source.group;
    const store = await CheckpointStore.open(nats.nc, group.name, { bucket: group.checkpointBucket, replicas: group.replicas ?? config.source.stream.replicas, keep: group.checkpointsKept });
    const worker = new GroupWorker({
      config,
      nc: nats.nc,
      membershipNc: this.membershipNats.nc,
      natsStatus: nats.status,
      sinks: this.sinks,
      ...(config.deadLetter.enabled ? { deadLetter: new NatsDeadLetterPublisher(nats.nc, config.deadLetter, log) } : {}),
      store,
      workerId: this.opts.workerId ?? defaultWorkerId(),
      clock: this.clock,
      logger: log,
      registry: this.registry,
      checkpointEveryMs: group.checkpointEveryMs,
    });
    await worker.start();
    this.group = worker;
  }

  /**
   * A group worker's stop: hand every partition over (stop consuming, checkpoint, free the
   * lease) within most of the budget, then close the shared sinks with what is left. A
   * hand-over cut short only means the next owner restores an older checkpoint.
   */
  private async stopGroup(worker: GroupWorker, leftMs: () => number): Promise<StopReport> {
    const log = this.log;
    const closeReserveMs = Math.min(CLOSE_RESERVE_MAX_MS, this.opts.stopBudgetMs * CLOSE_RESERVE_SHARE);
    const handOverMs = Math.max(0, (leftMs() - closeReserveMs) * HAND_OVER_SHARE);
    if ((await within(settled(worker.stop()), handOverMs)) === 'timeout') log.warn({ timeoutMs: Math.round(handOverMs) }, 'hand-over did not finish within its share of the stop budget; the next owner restores the last stored checkpoint');
    const overran = await closeSinksWithin(this.sinks, this.opts.stopBudgetMs, () => Math.max(0, leftMs() - closeReserveMs), log);
    return { ...shutdownDrops(this.sinks), overran };
  }

  /** The in-process simulator feeds the bus (embedded default, or a memory source). */
  private startSimulator(bus: NonNullable<BuiltSource['bus']>): void {
    const { config, log } = this.opts;
    const rateMs = config.simulator.rateMs;
    const startMs = Math.floor((this.clock() - (this.opts.backfillMs ?? 0)) / rateMs) * rateMs;
    const simulator = createSimulator(config.topology, { seed: config.simulator.seed, rateMs, startMs, batch: config.simulator.batch, faults: config.simulator.faults });
    const driver = new SimulatorDriver({ simulator, clock: this.clock, speed: 1, publish: busPublisher(bus, SIMULATOR_MAX_BACKLOG_MESSAGES) });
    this.driver = driver;
    this.driverDone = driver.run().catch((err: unknown) => {
      log.error({ err: errorText(err) }, 'simulator stopped with an error');
    });
  }

  /**
   * Stops within the budget: simulator, pipeline, then (`afterPipeline` in between, e.g. a
   * last summary) the metrics server and NATS with what is left. Never rejects.
   */
  async stop(hooks: { afterPipeline?: () => void } = {}): Promise<ServiceStopReport> {
    const log = this.log;
    const stopStartedMs = performance.now();
    const leftMs = (): number => Math.max(0, this.opts.stopBudgetMs - (performance.now() - stopStartedMs));
    this.driver?.stop();
    await this.driverDone;
    let report: StopReport | null = null;
    if (this.running !== null) {
      try {
        report = await this.running.stop();
      } catch (err: unknown) {
        log.error({ err: errorText(err) }, 'pipeline stop failed');
      }
    }
    if (this.group !== null) report = await this.stopGroup(this.group, leftMs);
    hooks.afterPipeline?.();
    if (this.server !== null && (await within(settled(this.server.stop()), leftMs())) === 'timeout') log.warn('metrics server did not close within the stop budget');
    const nats = this.built?.nats ?? this.groupNats;
    const results = this.resultsConnection;
    const natsClosing = [nats, results !== nats ? results : undefined, this.membershipNats].filter((h): h is NatsHandle => h !== undefined).map((h) => closeNats(h.nc, log));
    if ((await within(settled(Promise.all(natsClosing)), leftMs())) === 'timeout') log.warn('NATS did not drain within the stop budget');
    return { pipeline: report };
  }
}

/** A config whose source is a worker group's (source.group on a JetStream source with nats). */
type GroupConfig = HeadroomConfig & { source: JetStreamSourceConfig & { group: NonNullable<JetStreamSourceConfig['group']> }; nats: NonNullable<HeadroomConfig['nats']> };

function groupConfigOf(config: HeadroomConfig): GroupConfig | null {
  if (config.source.kind !== 'jetstream' || config.source.group === undefined) return null;
  if (config.nats === undefined) throw new ServiceConfigError('source.group needs a nats section');
  return config as GroupConfig;
}

/** Resolves when `promise` settles, either way. */
function settled(promise: Promise<unknown>): Promise<void> {
  return promise.then(
    () => undefined,
    () => undefined,
  );
}

async function closeNats(nc: NatsConnection, log: Logger): Promise<void> {
  try {
    await nc.drain();
  } catch (err: unknown) {
    log.warn({ err: errorText(err) }, 'NATS drain failed; closing');
    await nc.close();
  }
}
