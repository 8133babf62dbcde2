/**
 * Resolves after `ms`, or at once when `signal` aborts; its abort listener goes with it (a launch sleeps thousands
 * of times, a watcher once per sweep for as long as it runs).
 */
export const sleep = (ms: number, signal?: AbortSignal): Promise<void> =>
  new Promise((resolve) => {
    const onAbort = (): void => {
      clearTimeout(timer);
      resolve();
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
