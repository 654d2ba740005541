import { readFileSync } from 'node:fs';
import cliProgress from 'cli-progress';
import type { Command } from 'commander';
import { parse as parseYaml } from 'yaml';
import {
  CsvMappingError,
  isReplayFormat,
  parseCsvMapping,
  parseStartMs,
  REPLAY_FORMATS,
  type CsvMapping,
  type ReplayFormat,
} from '../codec/index.js';
import { WindowEngine } from '../core/index.js';
import { AlertEngine } from '../core/alerts/index.js';
import {
  DEFAULT_REORDER_MAX_BUFFERED,
  replayFiles,
  replayToNats,
  type ReorderReport,
  type ReplayProgress,
  type ReplayReadOptions,
  type UnreadableSample,
} from '../pipeline/index.js';
import { NdjsonSink } from '../sinks/index.js';
import { createLogger, errorText } from '../telemetry/index.js';
import { ConfigError, loadConfigOrThrow } from './config-arg.js';
import { connectForCli, durationOrMsOption, NATS_URL_DEFAULT_TEXT, natsConfigFor, natsUrlOf, parseReplaySpeed, positiveIntOption } from './options.js';

interface ReplayFlags {
  config?: string;
  output?: string;
  meters?: boolean;
  /** commander's --no-alerts: false when given. */
  alerts?: boolean;
  quiet?: boolean;
  maxMessageBytes: string;
  to: string;
  format: string;
  site?: string;
  meter?: string;
  start?: string;
  mapping?: string;
  zone?: string;
  reorderWindow: string;
  reorderMax: string;
  speed: string;
  nats?: string;
  subjectPrefix: string;
}

/** Plain progress lines (not a TTY) at most this often. */
const PLAIN_PROGRESS_EVERY_MS = 5000;
/** Lines between progress callbacks (the reporter throttles by time on top). */
const PROGRESS_EVERY_LINES = 2048;

export function registerReplayCommand(program: Command): void {
  program
    .command('replay')
    .description('replay recorded readings (NDJSON, CSV with a mapping, or a preset format) through the core on the event-time clock, or to NATS')
    .option('-c, --config <file>', 'config file (YAML) with the topology and windows (in-process target)')
    .option('-o, --output <file>', 'results NDJSON to write (in-process target)')
    .option('--to <target>', 'pipeline (in-process, event-time clock) or nats (publish to telemetry.<site>.replay)', 'pipeline')
    .option('--format <format>', `input format: ${REPLAY_FORMATS.join(', ')}`, 'ndjson')
    .option('--site <id>', 'site of CSV/preset readings; for NDJSON, the site of readings that omit it')
    .option('--meter <id>', 'meter id (single-meter presets) or meter prefix (gpu-trace)')
    .option('--start <iso>', 'start time of relative-second traces (ISO-8601 with zone)')
    .option('--mapping <file>', 'CSV column mapping (YAML), for --format csv')
    .option('--zone <zone>', 'zone of time patterns without one: IANA name or ±hh:mm')
    .option('--reorder-window <duration>', 'sort readings within this much event time', '5s')
    .option('--reorder-max <n>', 'readings held for sorting at most', String(DEFAULT_REORDER_MAX_BUFFERED))
    .option('--speed <x>', 'nats target: max, or a factor on the original spacing (1 = real time)', 'max')
    .option('--nats <url>', `nats target: server URL, unless --config has a nats section (default: ${NATS_URL_DEFAULT_TEXT})`)
    .option('--subject-prefix <prefix>', 'nats target: subject prefix', 'telemetry')
    .option('--meters', 'also write per-meter window records')
    .option('--no-alerts', 'do not evaluate the alert rules (by default transitions are written with the windows)')
    .option('-q, --quiet', 'no progress or summary on stderr')
    .option('--max-message-bytes <n>', 'longest NDJSON line accepted', '1048576')
    .argument('<inputs...>', 'files to replay (.gz allowed)')
    .action(async (inputs: string[], flags: ReplayFlags) => {
      const read = readOptions(inputs, flags);
      const progress = flags.quiet === true ? null : new ProgressReporter(flags.to === 'nats' ? 'messages' : 'node windows');
      if (progress !== null) read.onProgress = (p) => progress.update(p);
      read.progressEveryLines = PROGRESS_EVERY_LINES;
      const startedMs = performance.now();
      try {
        if (flags.to === 'nats') await replayNats(read, flags, progress, startedMs);
        else if (flags.to === 'pipeline') await replayInProcess(read, flags, progress, startedMs);
        else throw new ConfigError(`--to must be pipeline or nats, got '${flags.to}'`);
      } catch (err: unknown) {
        progress?.stop();
        if (err instanceof CsvMappingError) throw new ConfigError(`replay: ${err.message}`);
        throw err;
      }
    });
}

function readOptions(inputs: string[], flags: ReplayFlags): ReplayReadOptions {
  if (!isReplayFormat(flags.format)) throw new ConfigError(`--format must be one of ${REPLAY_FORMATS.join(', ')}, got '${flags.format}'`);
  const format: ReplayFormat = flags.format;
  const opts: ReplayReadOptions = {
    inputs,
    format,
    maxMessageBytes: positiveIntOption('--max-message-bytes', flags.maxMessageBytes),
    reorderWindowMs: durationOrMsOption('--reorder-window', flags.reorderWindow),
    reorderMaxBuffered: positiveIntOption('--reorder-max', flags.reorderMax),
  };
  if (flags.site !== undefined) opts.site = flags.site;
  if (flags.meter !== undefined) opts.meter = flags.meter;
  if (flags.zone !== undefined) opts.zone = flags.zone;
  try {
    if (flags.start !== undefined) opts.startMs = parseStartMs(flags.start);
    if (flags.mapping !== undefined) opts.mapping = loadMapping(flags.mapping);
  } catch (err: unknown) {
    if (err instanceof CsvMappingError) throw new ConfigError(`replay: ${err.message}`);
    throw err;
  }
  if (flags.mapping !== undefined && format !== 'csv') throw new ConfigError('--mapping is for --format csv');
  return opts;
}

/** Reads and validates a YAML column mapping; problems are config errors (exit 2). */
export function loadMapping(path: string): CsvMapping {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err: unknown) {
    throw new ConfigError(`${path}: ${errorText(err)}`);
  }
  let value: unknown;
  try {
    value = parseYaml(text);
  } catch (err: unknown) {
    throw new ConfigError(`${path}: not valid YAML: ${errorText(err)}`);
  }
  try {
    return parseCsvMapping(value);
  } catch (err: unknown) {
    if (err instanceof CsvMappingError) throw new ConfigError(`${path}: ${err.message}`);
    throw err;
  }
}

async function replayInProcess(read: ReplayReadOptions, flags: ReplayFlags, progress: ProgressReporter | null, startedMs: number): Promise<void> {
  if (flags.config === undefined || flags.output === undefined) throw new ConfigError('replay: --config and --output are required for --to pipeline');
  const config = loadConfigOrThrow(flags.config);
  const engine = new WindowEngine(config.topology, config.engine, { emitMeters: flags.meters === true });
  // A replay's results are one run: start from an empty file (the service sink appends).
  const sink = new NdjsonSink(flags.output, { truncate: true });
  let report;
  try {
    const alerts = flags.alerts === false ? undefined : new AlertEngine(config.topology, config.alerts);
    report = await replayFiles(engine, [sink], read, alerts);
  } finally {
    progress?.stop();
  }
  const { summary, reorder } = report;
  sink.writeLine(summary);
  await sink.close();
  if (flags.quiet === true) return;
  const seconds = (performance.now() - startedMs) / 1000;
  const rate = Math.round(summary.readings / Math.max(seconds, 1e-3));
  const lines = [
    `replayed ${fmt(summary.readings)} readings from ${fmt(summary.lines)} lines in ${seconds.toFixed(1)} s (${fmt(rate)} readings/s) → ${flags.output}`,
    `  readings by outcome: ${outcomeText(summary.outcomes)}`,
    `  windows emitted: ${fmt(summary.windows.node)} node, ${fmt(summary.windows.site)} site, ${fmt(summary.windows.meter)} meter (${fmt(summary.windows.restatements)} restatements)`,
    ...(summary.alerts === undefined ? [] : [`  alert transitions: ${fmt(summary.alerts.firing)} firing, ${fmt(summary.alerts.pending)} pending, ${fmt(summary.alerts.resolved)} resolved`]),
    ...csvLines(summary.missingValues, summary.unreadableRows, summary.unreadable),
    reorderLine(reorder),
  ];
  process.stderr.write(lines.join('\n') + '\n');
}

async function replayNats(read: ReplayReadOptions, flags: ReplayFlags, progress: ProgressReporter | null, startedMs: number): Promise<void> {
  const speed = parseReplaySpeed(flags.speed);
  const log = createLogger({ level: 'warn' });
  const { nc } = await connectForCli(natsConfigFor(flags.config, natsUrlOf(flags.nats, process.env), 'headroom-replay'), log);
  let report;
  try {
    report = await replayToNats(nc, {
      ...read,
      speed,
      subjectPrefix: flags.subjectPrefix,
      clock: { nowMs: () => performance.now(), sleep: (ms) => new Promise((r) => setTimeout(r, ms)) },
    });
  } finally {
    progress?.stop();
    await nc.drain();
  }
  const { summary, reorder } = report;
  if (flags.quiet === true) return;
  const seconds = (performance.now() - startedMs) / 1000;
  const lines = [
    `published ${fmt(summary.readings - invalidCount(summary.invalid))} readings in ${fmt(summary.messages)} messages to ${flags.subjectPrefix}.<site>.replay in ${seconds.toFixed(1)} s (speed ${String(speed)})`,
    ...(Object.keys(summary.invalid).length > 0 ? [`  invalid: ${outcomeText(summary.invalid)}`] : []),
    ...csvLines(summary.missingValues, summary.unreadableRows, summary.unreadable),
    reorderLine(reorder),
  ];
  process.stderr.write(lines.join('\n') + '\n');
}

function invalidCount(invalid: Record<string, number>): number {
  return Object.values(invalid).reduce((a, b) => a + b, 0);
}

function csvLines(missing: number | undefined, byReason: Record<string, number> | undefined, samples: UnreadableSample[] | undefined): string[] {
  if (missing === undefined) return [];
  const unreadable = invalidCount(byReason ?? {});
  const out = [`  missing values: ${fmt(missing)}; unreadable rows: ${fmt(unreadable)}${unreadable > 0 ? ` (${outcomeText(byReason ?? {})})` : ''}`];
  for (const s of samples ?? []) out.push(`    ${s.file}:${s.line}: ${s.reason}: ${s.detail}`);
  if (samples !== undefined && unreadable > samples.length) out.push(`    … and ${fmt(unreadable - samples.length)} more`);
  return out;
}

function reorderLine(r: ReorderReport): string {
  const forced = r.forcedReleases > 0 ? `; ${fmt(r.forcedReleases)} released early (buffer full: raise --reorder-max)` : '';
  return `  reorder buffer: window ${r.windowMs} ms, held at most ${fmt(r.highWater)} of ${fmt(r.maxBuffered)}${forced}`;
}

function outcomeText(outcomes: Record<string, number>): string {
  return Object.entries(outcomes)
    .filter(([, n]) => n > 0)
    .map(([k, n]) => `${k} ${fmt(n)}`)
    .join(', ') || 'none';
}

function fmt(n: number): string {
  return n.toLocaleString('en-US');
}

/**
 * Progress on stderr: a bar on a TTY (share of bytes read, readings/s, ETA), plain lines
 * every few seconds otherwise.
 */
class ProgressReporter {
  private readonly tty = process.stderr.isTTY === true;
  private bar: cliProgress.SingleBar | null = null;
  private readonly startedMs = performance.now();
  private lastPlainMs = performance.now();

  constructor(private readonly countLabel: string) {}

  update(p: ReplayProgress): void {
    const seconds = Math.max((performance.now() - this.startedMs) / 1000, 1e-3);
    const rate = Math.round(p.readings / seconds);
    if (this.tty) {
      if (this.bar === null) {
        this.bar = new cliProgress.SingleBar(
          {
            stream: process.stderr,
            format: `replay [{bar}] {percentage}% | {rate} readings/s | {count} ${this.countLabel} | ETA {eta_formatted} | {file}`,
            hideCursor: true,
            etaBuffer: 50,
          },
          cliProgress.Presets.shades_classic,
        );
        this.bar.start(Math.max(p.totalBytes, 1), 0, { rate: '0', count: '0', file: p.file });
      }
      this.bar.update(p.bytesRead, { rate: fmt(rate), count: fmt(p.windows), file: p.file });
      return;
    }
    const now = performance.now();
    if (now - this.lastPlainMs < PLAIN_PROGRESS_EVERY_MS) return;
    this.lastPlainMs = now;
    const share = p.totalBytes > 0 ? (100 * p.bytesRead) / p.totalBytes : 100;
    const etaS = share > 0 ? (seconds * (100 - share)) / share : NaN;
    process.stderr.write(
      `replay: ${share.toFixed(1)}% of ${fmt(p.totalBytes)} bytes, ${fmt(p.readings)} readings (${fmt(rate)}/s), ` +
        `${fmt(p.windows)} ${this.countLabel}, ETA ${Number.isFinite(etaS) ? `${Math.round(etaS)} s` : '?'} — ${p.file}:${fmt(p.lines)}\n`,
    );
  }

  stop(): void {
    if (this.bar !== null) {
      this.bar.update(this.bar.getTotal());
      this.bar.stop();
      this.bar = null;
    }
  }
}
