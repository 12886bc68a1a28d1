/** Waiting that a signal can end early, for the page's and the store's waits on work they did not start. */

/**
 * `work`'s outcome, or a rejection with `cancelled()` as soon as `signal` aborts (already aborted: at once).
 * `work` itself goes on: only the wait ends.
 */
export function untilAborted<T>(work: Promise<T>, signal: AbortSignal | undefined, cancelled: () => Error): Promise<T> {
  if (!signal) return work;
  if (signal.aborted) return Promise.reject(cancelled());
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(cancelled());
    signal.addEventListener('abort', onAbort, { once: true });
    work.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
  });
}
