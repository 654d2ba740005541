/**
 * The stages of `Pipeline.stop()` that wait on others (the source, the sinks), each bounded
 * by a deadline derived from the one stop budget.
 */
import type { Sink } from '../sinks/index.js';
import type { Source } from '../sources/index.js';
import { errorText, type Logger } from '../telemetry/index.js';
import type { StopReport } from './pipeline-types.js';

/** Share of the stop budget the source gets to hand over what is in flight. */
export const SOURCE_STOP_SHARE = 0.25;
/** Kept back from the sinks' deadline for the bookkeeping after them: a twentieth of the budget, at most 250 ms. */
const STOP_RESERVE_SHARE = 0.05;
const STOP_RESERVE_MAX_MS = 250;

/** `promise`'s outcome, or `'timeout'` after `ms`. Never rejects when `promise` does not. */
export async function within<T>(promise: Promise<T>, ms: number): Promise<T | 'timeout'> {
  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<'timeout'>((resolve) => {
    timer = setTimeout(() => resolve('timeout'), Math.max(0, ms));
  });
  try {
    return await Promise.race([promise, timedOut]);
  } finally {
    clearTimeout(timer);
  }
}

/** Stops the source within its share of the budget; a failure or an overrun is logged, not thrown. */
export async function stopSourceWithin(source: Source, budgetMs: number, log: Logger): Promise<void> {
  const sourceMs = budgetMs * SOURCE_STOP_SHARE;
  const stopped = await within(
    source.stop().then(
      () => 'ok' as const,
      (err: unknown) => {
        log.error({ err: errorText(err) }, 'source stop failed; draining what was recorded');
        return 'failed' as const;
      },
    ),
    sourceMs,
  );
  if (stopped === 'timeout') log.error({ timeoutMs: Math.round(sourceMs) }, 'source did not stop within its share of the stop budget; closing windows with what was recorded');
}

/**
 * Closes every sink at once, each with the same deadline (what is left of the budget less a
 * small reserve): one slow sink does not eat another's time. Returns the sinks that overran.
 */
export async function closeSinksWithin(sinks: readonly Sink[], budgetMs: number, leftMs: () => number, log: Logger): Promise<string[]> {
  const reserveMs = Math.min(STOP_RESERVE_MAX_MS, budgetMs * STOP_RESERVE_SHARE);
  const sinkMs = Math.max(0, leftMs() - reserveMs);
  const overran: string[] = [];
  await Promise.all(
    sinks.map(async (s) => {
      const closed = await within(
        s.close({ timeoutMs: sinkMs }).then(
          () => 'ok' as const,
          (err: unknown) => {
            log.error({ sink: s.name, err: errorText(err) }, 'sink close failed');
            return 'failed' as const;
          },
        ),
        Math.max(0, leftMs() - reserveMs / 2),
      );
      if (closed === 'timeout') {
        overran.push(s.name);
        log.error({ sink: s.name, timeoutMs: Math.round(sinkMs), buffered: s.health().buffered }, 'sink did not close by its deadline; what it holds is lost');
      }
    }),
  );
  return overran;
}

/** Records each sink dropped at shutdown (`droppedByReason.shutdown`), only sinks that dropped. */
export function shutdownDrops(sinks: readonly Sink[]): Pick<StopReport, 'droppedAtShutdown' | 'droppedRecords'> {
  const droppedAtShutdown: Record<string, number> = {};
  let droppedRecords = 0;
  for (const s of sinks) {
    const n = s.stats?.().droppedByReason?.shutdown ?? 0;
    if (n > 0) {
      droppedAtShutdown[s.name] = n;
      droppedRecords += n;
    }
  }
  return { droppedAtShutdown, droppedRecords };
}
