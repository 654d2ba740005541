/**
 * `headroom run`: flags, signals and the terminal around the service, which is assembled in
 * pipeline/service.ts (`HeadroomService`), the one place `run`, `npm start` and worker groups share.
 */
import type { Command } from 'commander';
import { isValidWorkerId } from '../pipeline/group/index.js';
import { HeadroomService, ServiceConfigError } from '../pipeline/index.js';
import { createLogger, EXIT_DROPPED_AT_SHUTDOWN, EXIT_OK, EXIT_RUNTIME, EXIT_SECOND_SIGNAL } from '../telemetry/index.js';
import { ConfigError, loadConfigOrThrow } from './config-arg.js';
import { durationOption, parseListen, parseLogLevel } from './options.js';
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
  workerId?: string;
}

/*
 * Exit codes of `run` after SIGTERM/SIGINT (docs/operations.md, "Exit codes"): EXIT_OK when every record
 * was delivered; EXIT_DROPPED_AT_SHUTDOWN when a sink could not deliver within the stop
 * budget and dropped records (counted as reason `shutdown` and logged with the number);
 * EXIT_RUNTIME when the stop overran the budget (a stage ignored its deadline).
 */
/** Past the budget by this much, the process exits with EXIT_RUNTIME whatever is still running. */
const STOP_BACKSTOP_MARGIN_MS = 2_000;

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
    .option('--worker-id <id>', "this worker's id in its group (source.group); default $HEADROOM_WORKER_ID, else <hostname>-<pid>-<random>")
    .action(async (flags: RunFlags) => {
      const config = loadConfigOrThrow(flags.config);
      const embedded = flags.embedded === true;
      const tty = process.stdout.isTTY === true;
      const showSummary = embedded && flags.summary;
      const log = createLogger({ level: flags.logLevel === undefined ? (showSummary && tty ? 'warn' : 'info') : parseLogLevel(flags.logLevel) });
      const backfillMs = flags.backfill === '0' ? 0 : durationOption('--backfill', flags.backfill, { allowZero: true });
      const summaryMs = durationOption('--summary-interval', flags.summaryInterval);
      const stopBudgetMs = durationOption('--stop-timeout', flags.stopTimeout);
      const metricsListen = flags.metricsListen === undefined ? undefined : parseListen('--metrics-listen', flags.metricsListen);

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

      const clock = Date.now;
      const service = new HeadroomService({
        config,
        embedded,
        ...(flags.dataDir === undefined ? {} : { dataDir: flags.dataDir }),
        truncateResults: flags.truncateResults === true,
        ...(metricsListen === undefined ? {} : { metricsListen }),
        backfillMs,
        stopBudgetMs,
        waitForNats: flags.failFast !== true,
        signal: stopping.signal,
        clock,
        log,
        configPath: flags.config,
        ...workerIdOf(flags),
      });
      try {
        await service.start();
      } catch (err: unknown) {
        if (err instanceof ServiceConfigError) throw new ConfigError(err.message, { cause: err });
        throw err;
      }
      const { metricsUrl, ndjsonPath } = service;

      let summary: TerminalSummary | null = null;
      if (showSummary) {
        const pipeline = service.pipeline;
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
        `headroom: running${embedded ? ' (embedded: simulator → in-process bus)' : ''} — ${sites} sites, ${meters} meters, source ${service.sourceKind}` +
          `${metricsUrl === null ? '' : `; metrics ${metricsUrl}`}${ndjsonPath === null ? '' : `; results ${ndjsonPath}`}; Ctrl-C to stop\n`,
      );

      if (!stopping.signal.aborted) await new Promise<void>((resolve) => stopping.signal.addEventListener('abort', () => resolve(), { once: true }));

      // Graceful stop within one budget (the service's stages); a backstop exits if anything ignores it.
      const force = setTimeout(() => {
        log.error({ budgetMs: stopBudgetMs, marginMs: STOP_BACKSTOP_MARGIN_MS }, 'shutdown overran its budget; exiting');
        process.exit(EXIT_RUNTIME);
      }, stopBudgetMs + STOP_BACKSTOP_MARGIN_MS);
      force.unref();
      summary?.stop();
      const { pipeline: report } = await service.stop({ afterPipeline: () => summary?.render() });
      const code = report === null || report.overran.length > 0 ? EXIT_RUNTIME : report.droppedRecords > 0 ? EXIT_DROPPED_AT_SHUTDOWN : EXIT_OK;
      const counts = service.counts();
      process.stdout.write(
        `headroom: stopped — ${counts.readings} readings, ${counts.recordsOut} window records, ${counts.deadLetters} dead letters` +
          `${ndjsonPath === null ? '' : ` → ${ndjsonPath}`}\n`,
      );
      process.exitCode = code;
    });
}

/** The group worker id from --worker-id, else $HEADROOM_WORKER_ID; none: the service's default. */
function workerIdOf(flags: RunFlags): { workerId?: string } {
  const id = flags.workerId ?? process.env.HEADROOM_WORKER_ID;
  if (id === undefined || id === '') return {};
  if (!isValidWorkerId(id)) throw new ConfigError(`--worker-id (or HEADROOM_WORKER_ID) must match [A-Za-z0-9_-]{1,100}, got '${id}'`);
  return { workerId: id };
}
