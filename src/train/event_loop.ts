// Yielding to the event loop between units of synchronous work (training steps, decoding steps), so
// that a signal handler, a page's message or an HTTP request runs now: setImmediate in Node (after
// pending I/O), a macrotask elsewhere.

export function yieldToEventLoop(): Promise<void> {
  return new Promise((resolve) => {
    if (typeof setImmediate === 'function') setImmediate(resolve); else setTimeout(resolve, 0);
  });
}
