import type { Sink } from '../sinks/index.js';
import type { NatsConnectionStatus } from '../sources/index.js';
import type { NatsHealthSample, PipelineHealthSample, SinkHealthSample } from '../telemetry/index.js';
import type { PipelineDeps } from './pipeline-types.js';
import type { SiteIngestCounters } from './site-counters.js';

/** The pipeline's health at `nowMs`, from the plain counters, the engine, the source and the sinks. */
export function healthSample(
  deps: PipelineDeps,
  counters: SiteIngestCounters,
  deadLettersByReason: Readonly<Record<string, number>>,
  sourcePaused: boolean,
  nowMs: number,
): PipelineHealthSample {
  const stats = deps.engine.stats();
  const lateBySite: Record<string, number> = {};
  for (const [site, meters] of Object.entries(stats.lateBySiteMeter)) {
    let n = 0;
    for (const v of Object.values(meters)) n += v;
    lateBySite[site] = n;
  }
  const lag: Record<string, number | null> = {};
  for (const [site, wm] of Object.entries(stats.watermarkMs)) lag[site] = Number.isFinite(wm) ? (nowMs - wm) / 1000 : null;
  const src = deps.source.health();
  const nats = deps.natsStatus;
  return {
    readingsByOutcome: counters.total().byOutcome(),
    droppedBySiteReason: counters.droppedBySiteReason(),
    deadLettersByReason,
    lateBySite,
    watermarkLagSecondsBySite: lag,
    sinks: sinkHealthSamples(deps.sinks),
    ...(nats !== undefined ? { nats: natsHealthSample(nats) } : {}),
    ...(src.pending === undefined ? {} : { sourcePendingMessages: src.pending }),
    sourcePaused,
  };
}

/** Each sink's buffer, failure and delivery counters, as the metrics read them. */
export function sinkHealthSamples(sinks: readonly Sink[]): SinkHealthSample[] {
  return sinks.map((s) => {
    const h = s.health();
    const stats = s.stats?.();
    return { name: s.name, buffered: h.buffered, failed: h.failed, ...(stats === undefined ? {} : { stats }) };
  });
}

/** The NATS connection as the metrics read it. */
export function natsHealthSample(status: NatsConnectionStatus): NatsHealthSample {
  return { connected: status.state === 'connected', reconnects: status.reconnects };
}
