import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import type { NatsConfig } from '../config/index.js';
import { parseDurationMs, parseSizeBytes } from '../config/index.js';
import { recordNats } from '../pipeline/index.js';
import { NdjsonRecorder } from '../sinks/index.js';
import { connectNats, NatsConnectAbortedError, STOPPED, unlessStopped, type NatsConnection, type NatsHandle, type RecordFrom } from '../sources/index.js';
import { createLogger, redactUrlCredentials, type Logger } from '../telemetry/index.js';
import { ConfigError } from './config-arg.js';
import { NATS_URL_DEFAULT_TEXT, natsConfigFor, natsUrlOf, positiveUnitOption } from './options.js';

interface RecordFlags {
  output: string;
  subject?: string[];
  stream?: string;
  fromSeq?: string;
  fromTime?: string;
  newOnly?: boolean;
  stopAtEnd?: boolean;
  rotateSize?: string;
  rotateEvery?: string;
  config?: string;
  nats?: string;
  quiet?: boolean;
}

export function registerRecordCommand(program: Command): void {
  program
    .command('record')
    .description('record NATS messages (core subjects or a JetStream stream) as NDJSON for replay; Ctrl-C flushes and stops')
    .requiredOption('-o, --output <file>', 'NDJSON file to write (.gz: gzip); numbered -000001, -000002, ... when rotating')
    .option('-s, --subject <subject...>', 'core NATS subjects to subscribe to (default telemetry.>)')
    .option('--stream <name>', 'read a JetStream stream through an ordered consumer instead')
    .option('--from-seq <n>', 'JetStream: start at this stream sequence')
    .option('--from-time <iso>', 'JetStream: start at this time (ISO-8601 with zone)')
    .option('--new-only', 'JetStream: only messages that arrive from now on')
    .option('--stop-at-end', "JetStream: stop once caught up with the stream's last message")
    .option('--rotate-size <size>', 'start a new file after this many bytes (e.g. 256MiB)')
    .option('--rotate-every <duration>', 'start a new file after this long (e.g. 1h)')
    .option('-c, --config <file>', "take the NATS connection (servers, credentials, TLS) from this config's nats section")
    .option('--nats <url>', `NATS server URL, without --config (default: ${NATS_URL_DEFAULT_TEXT})`)
    .option('-q, --quiet', 'no summary on stderr')
    .action(async (flags: RecordFlags) => {
      const from = recordFrom(flags);
      const log = createLogger({ level: flags.quiet === true ? 'warn' : 'info' });
      const recorder = new NdjsonRecorder({
        path: flags.output,
        nowMs: () => performance.now(),
        ...(flags.rotateSize !== undefined ? { rotateBytes: positiveUnitOption('--rotate-size', () => parseSizeBytes(flags.rotateSize!)) } : {}),
        ...(flags.rotateEvery !== undefined ? { rotateMs: positiveUnitOption('--rotate-every', () => parseDurationMs(flags.rotateEvery!)) } : {}),
      });
      // Signals stop the recorder in every state: connecting, waiting for the consumer, idle, busy.
      // A second signal falls through to Node's default and ends the process at once.
      const stop = new AbortController();
      const onSignal = (): void => stop.abort();
      process.once('SIGINT', onSignal);
      process.once('SIGTERM', onSignal);
      const cfg = natsConfigFor(flags.config, natsUrlOf(flags.nats, process.env), 'headroom-record');
      const startedMs = performance.now();
      let handle: NatsHandle | null = null;
      try {
        handle = await connectUntilStopped(cfg, log, stop.signal);
        if (handle === null) {
          await recorder.close();
          process.stderr.write(`record: stopped while connecting to NATS at ${redactUrlCredentials(cfg.servers.join(', '))}; nothing recorded\n`);
        } else {
          await recordUntilStopped(handle.nc, from, recorder, stop.signal, { output: flags.output, quiet: flags.quiet === true, startedMs });
        }
      } finally {
        process.removeListener('SIGINT', onSignal);
        process.removeListener('SIGTERM', onSignal);
        if (handle !== null) await closeWithin(handle.nc, CLOSE_TIMEOUT_MS);
      }
      // Work abandoned on a stop (a connection attempt, nats.js retrying a consumer) may hold
      // timers for a while: the file is closed and the summary written, so end now.
      if (stop.signal.aborted) process.exit(process.exitCode ?? 0);
    });
}

/** Records, then prints the summary (or why nothing was recorded). */
async function recordUntilStopped(
  nc: NatsConnection,
  from: RecordFrom,
  recorder: NdjsonRecorder,
  signal: AbortSignal,
  out: { output: string; quiet: boolean; startedMs: number },
): Promise<void> {
  if (!out.quiet) process.stderr.write(`recording ${describe(from)} → ${out.output} (Ctrl-C to stop)\n`);
  const summary = await recordNats(nc, from, recorder, signal);
  if (summary.stoppedWhile === 'waiting-for-consumer') {
    process.stderr.write(`record: stopped while waiting for the JetStream consumer (${describe(from)}); nothing recorded\n`);
    return;
  }
  if (out.quiet) return;
  const seconds = (performance.now() - out.startedMs) / 1000;
  process.stderr.write(
    `recorded ${summary.messages.toLocaleString('en-US')} messages (${summary.bytes.toLocaleString('en-US')} bytes) in ${seconds.toFixed(1)} s` +
      `${summary.rewritten > 0 ? `, ${summary.rewritten} rewritten onto one line` : ''}${summary.skipped > 0 ? `, ${summary.skipped} skipped (empty or multi-line non-JSON)` : ''}` +
      ` → ${summary.files.join(', ') || '(no file: nothing arrived)'}\n`,
  );
}

/** Longest wait for the connection to drain at the end. */
const CLOSE_TIMEOUT_MS = 5_000;
/**
 * Connects, waiting for NATS (retried with backoff, logged once per reason) until it answers
 * or `signal` aborts (then resolves null). Other connection errors are thrown.
 */
async function connectUntilStopped(cfg: NatsConfig, log: Logger, signal: AbortSignal): Promise<NatsHandle | null> {
  try {
    return await connectNats(cfg, { env: process.env, readFile: (p) => readFileSync(p, 'utf8'), log }, { waitForServer: true, signal });
  } catch (err: unknown) {
    if (err instanceof NatsConnectAbortedError) return null;
    throw err;
  }
}

/** Drains the connection (pending publishes, subscriptions); past the bound, closes it. */
async function closeWithin(nc: NatsConnection, timeoutMs: number): Promise<void> {
  const drained = await unlessStopped(nc.drain(), AbortSignal.timeout(timeoutMs));
  if (drained === STOPPED) await nc.close();
}

function recordFrom(flags: RecordFlags): RecordFrom {
  if (flags.stream === undefined) {
    if (flags.fromSeq !== undefined || flags.fromTime !== undefined || flags.newOnly === true || flags.stopAtEnd === true) {
      throw new ConfigError('--from-seq, --from-time, --new-only and --stop-at-end need --stream');
    }
    return { kind: 'core', subjects: flags.subject ?? ['telemetry.>'] };
  }
  const from: RecordFrom = { kind: 'jetstream', stream: flags.stream };
  if (flags.subject !== undefined) from.subjects = flags.subject;
  const starts = [flags.fromSeq, flags.fromTime, flags.newOnly === true ? 'new' : undefined].filter((x) => x !== undefined);
  if (starts.length > 1) throw new ConfigError('give at most one of --from-seq, --from-time, --new-only');
  if (flags.fromSeq !== undefined) {
    const seq = Number(flags.fromSeq);
    if (!Number.isInteger(seq) || seq < 1) throw new ConfigError(`--from-seq must be a sequence >= 1, got '${flags.fromSeq}'`);
    from.startSeq = seq;
  }
  if (flags.fromTime !== undefined) {
    const ms = /(?:Z|[+-]\d{2}:\d{2})$/i.test(flags.fromTime) ? Date.parse(flags.fromTime) : NaN;
    if (!Number.isFinite(ms)) throw new ConfigError(`--from-time must be ISO-8601 with a zone, got '${flags.fromTime}'`);
    from.startTimeMs = ms;
  }
  if (flags.newOnly === true) from.newOnly = true;
  if (flags.stopAtEnd === true) from.stopAtEnd = true;
  return from;
}

function describe(from: RecordFrom): string {
  return from.kind === 'core' ? `subjects ${from.subjects.join(', ')}` : `stream ${from.stream}`;
}
