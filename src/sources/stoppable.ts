/** Waits that end when an AbortSignal fires: how the NATS tap and the record command stop promptly. */

/** What `unlessStopped` resolves with when the signal fired first. */
export const STOPPED: unique symbol = Symbol('stopped');

/**
 * The promise's value, or STOPPED as soon as `signal` aborts. The abandoned promise may still
 * settle later (nats.js retries consumer creation on its own): a value goes to `discard`, an
 * error is dropped on purpose, since the caller is stopping and has nothing left to do with it.
 */
export async function unlessStopped<T>(work: Promise<T>, signal: AbortSignal, discard?: (value: T) => void): Promise<T | typeof STOPPED> {
  if (signal.aborted) {
    work.then(discard, dropAfterStop);
    return STOPPED;
  }
  return new Promise<T | typeof STOPPED>((resolve, reject) => {
    let stopped = false;
    const onAbort = (): void => {
      stopped = true;
      resolve(STOPPED);
    };
    signal.addEventListener('abort', onAbort, { once: true });
    work.then(
      (value) => {
        signal.removeEventListener('abort', onAbort);
        if (stopped) discard?.(value);
        else resolve(value);
      },
      (err: unknown) => {
        signal.removeEventListener('abort', onAbort);
        if (!stopped) reject(err instanceof Error ? err : new Error(String(err)));
      },
    );
  });
}

/** Stopping: the outcome of work that was abandoned no longer matters. */
export function dropAfterStop(err: unknown): void {
  void err;
}
