/** The parts the service is assembled from: its source (with NATS when needed) and its local sinks. */
import { basename, join } from 'node:path';
import type { HeadroomConfig, NatsConfig } from '../config/index.js';
import { NdjsonSink } from '../sinks/index.js';
import { JetStreamSource, MemoryBus, MemoryDeadLetterPublisher, MemorySource, NatsDeadLetterPublisher, NatsSource, type DeadLetterPublisher, type NatsHandle, type Source } from '../sources/index.js';
import type { Logger } from '../telemetry/index.js';

/** The config cannot be served as asked (the CLI reports it as a config error, exit 2). */
export class ServiceConfigError extends Error {
  override readonly name = 'ServiceConfigError';
}

export interface BuiltSource {
  source: Source;
  deadLetter?: DeadLetterPublisher;
  /** The in-process bus the simulator feeds (memory source). */
  bus?: MemoryBus;
  /** The NATS connection of the source and the dead-letter publisher. */
  nats?: NatsHandle;
}

/** Connects to NATS for the source, the dead-letter publisher or the results sink. */
export type NatsConnector = (cfg: NatsConfig) => Promise<NatsHandle>;

/** The source of `config` (the in-process bus when `embedded`), connecting to NATS when it needs to. */
export async function buildSource(config: HeadroomConfig, embedded: boolean, log: Logger, connect: NatsConnector): Promise<BuiltSource> {
  const src = config.source;
  if (embedded || src.kind === 'memory') {
    const bus = new MemoryBus();
    const source = new MemorySource(bus, { subjectPrefix: src.subjectPrefix, sites: src.sites });
    return { source, bus, deadLetter: new MemoryDeadLetterPublisher(bus, config.deadLetter) };
  }
  if (config.nats === undefined) throw new ServiceConfigError(`source.kind ${src.kind} needs a nats section`);
  const nats = await connect(config.nats);
  const conn = { nc: nats.nc, status: nats.status };
  const deadLetter = new NatsDeadLetterPublisher(nats.nc, config.deadLetter, log);
  if (src.kind === 'nats') return { source: new NatsSource(conn, src, { log, status: nats.status }), deadLetter, nats };
  return { source: new JetStreamSource(conn, src, { log, status: nats.status }), deadLetter, nats };
}

export interface NdjsonSinkOptions {
  embedded: boolean;
  /** Directory of the results file, replacing the configured one's (embedded default: data). */
  dataDir?: string;
  /** Empty the file at start (else as sinks.ndjson.truncate). */
  truncate: boolean;
  clock: () => number;
  log: Logger;
}

/** The results NDJSON sink, when configured or embedded; null otherwise. */
export function buildNdjsonSink(config: HeadroomConfig, opts: NdjsonSinkOptions): { sink: NdjsonSink; path: string } | null {
  const ndjsonCfg = config.sinks.ndjson;
  if (ndjsonCfg === undefined && !opts.embedded) return null;
  const configured = ndjsonCfg?.path ?? 'data/results.ndjson';
  const dataDir = opts.dataDir ?? (opts.embedded ? 'data' : undefined);
  const path = dataDir === undefined ? configured : join(dataDir, basename(configured));
  const rotate = ndjsonCfg?.rotate;
  const sink = new NdjsonSink(path, {
    truncate: opts.truncate || ndjsonCfg?.truncate === true,
    ...(rotate?.maxBytes !== undefined ? { rotateBytes: rotate.maxBytes } : {}),
    ...(rotate?.maxAgeMs !== undefined ? { rotateMs: rotate.maxAgeMs } : {}),
    nowMs: opts.clock,
    log: opts.log,
  });
  return { sink, path };
}
