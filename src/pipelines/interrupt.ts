// Ctrl-C and SIGTERM during a long job: the first asks the job to stop at the next safe point (the
// trainer finishes its step and saves); a second exits at once with the signal's usual code.

export interface StopSignal {
  /** Set when the job should stop at its next safe point. */
  requested: boolean;
  /** The signal that asked. */
  reason?: NodeJS.Signals;
}

/** Installs the handlers; call dispose() when the job is over (restores the default behaviour). */
export function onInterrupt(log: (message: string) => void, what = 'finishing the step and saving'): { stop: StopSignal; dispose(): void } {
  const stop: StopSignal = { requested: false };
  const handler = (sig: NodeJS.Signals) => {
    if (stop.requested) {
      log(`\n${sig} again: exiting now without saving`);
      process.exit(sig === 'SIGINT' ? 130 : 143);
    }
    stop.requested = true;
    stop.reason = sig;
    log(`\n${sig}: ${what} (press Ctrl-C again to exit at once)`);
  };
  process.on('SIGINT', handler);
  process.on('SIGTERM', handler);
  return {
    stop,
    dispose: () => { process.off('SIGINT', handler); process.off('SIGTERM', handler); },
  };
}
