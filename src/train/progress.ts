// Progress reporting for long work: a redrawn bar on a TTY, plain log lines otherwise.

/** What a progress bar writes to: a Node stream, or anything with write(). */
export interface ProgressStream { write(text: string): unknown; isTTY?: boolean }

function defaultStream(): ProgressStream {
  return globalThis.process?.stderr ?? { write: (text: string) => { if (text.trim()) console.log(text.trimEnd()); } };
}

export class Progress {
  private readonly tty: boolean;
  private readonly start = Date.now();
  private lastLine = 0;

  /** stream: where the bar goes (default: stderr in Node, the console elsewhere). */
  constructor(private readonly total: number, private readonly label = '', private readonly stream: ProgressStream = defaultStream(),
              private readonly plainEveryMs = 10_000) {
    this.tty = stream.isTTY === true && !globalThis.process?.env.CI;
  }

  /** done: units finished; info: extra fields shown after the bar. */
  update(done: number, info = '', force = false): void {
    const now = Date.now();
    const frac = this.total > 0 ? Math.min(done / this.total, 1) : 0;
    const elapsed = (now - this.start) / 1000;
    const eta = frac > 0 ? elapsed * (1 - frac) / frac : NaN;
    if (this.tty) {
      if (!force && now - this.lastLine < 100 && done < this.total) return;
      const width = 24;
      const filled = Math.round(frac * width);
      const bar = '='.repeat(Math.max(filled - 1, 0)) + (filled > 0 ? '>' : '') + ' '.repeat(width - filled);
      this.stream.write(`\r${this.label}${done}/${this.total} [${bar}] ${info} | ETA ${formatDuration(eta)}\x1b[K`);
    } else if (force || now - this.lastLine >= this.plainEveryMs || done >= this.total) {
      this.stream.write(`${this.label}${done}/${this.total} ${info} | elapsed ${formatDuration(elapsed)} | ETA ${formatDuration(eta)}\n`);
    } else {
      return;
    }
    this.lastLine = now;
  }

  /** Prints a line without breaking the bar. */
  log(line: string): void {
    if (this.tty) this.stream.write(`\r\x1b[K${line}\n`);
    else this.stream.write(line + '\n');
    this.lastLine = 0;
  }

  done(): void {
    if (this.tty) this.stream.write('\n');
  }
}

export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds)) return '--';
  const s = Math.round(seconds);
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
  return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
}
