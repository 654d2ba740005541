/**
 * Waiting for a condition in a test: poll with a generous, bounded timeout, never a fixed
 * sleep. One loop for both shapes: `waitFor` (a probe that answers null until ready) and
 * `retryUntil` (a call that throws until it succeeds).
 */

export class WaitTimeoutError extends Error {
  constructor(what: string, timeoutMs: number, lastError: unknown) {
    const detail = lastError === undefined ? '' : ` (last error: ${lastError instanceof Error ? lastError.message : String(lastError)})`;
    super(`timed out after ${timeoutMs} ms waiting for ${what}${detail}`, lastError === undefined ? undefined : { cause: lastError });
    this.name = 'WaitTimeoutError';
  }
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Polls `probe` every `intervalMs` until it answers something other than null; a throw counts
 * as "not yet" (and is named in the timeout error). Probes at least once, and once more after
 * the deadline has passed before giving up.
 */
export async function waitFor<T>(what: string, timeoutMs: number, probe: () => Promise<T | null> | T | null, intervalMs = 200): Promise<T> {
  const deadlineMs = performance.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      const value = await probe();
      if (value !== null) return value;
    } catch (err: unknown) {
      lastError = err;
    }
    if (performance.now() > deadlineMs) throw new WaitTimeoutError(what, timeoutMs, lastError);
    await sleep(intervalMs);
  }
}

/** Retries `fn` until it resolves or `timeoutMs` passes; then rethrows its last error. */
export async function retryUntil<T>(fn: () => Promise<T>, timeoutMs = 20_000, intervalMs = 250): Promise<T> {
  try {
    const answer = await waitFor('a call to succeed', timeoutMs, async () => ({ value: await fn() }), intervalMs);
    return answer.value;
  } catch (err: unknown) {
    if (err instanceof WaitTimeoutError && err.cause !== undefined) throw err.cause;
    throw err;
  }
}
