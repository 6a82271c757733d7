// A single-consumer async queue: a producer pushes values (never waiting), a consumer iterates
// them with for await. close() ends the iteration after what was pushed; fail() ends it with an
// error. The engine's decode loop produces tokens; a server's response writer consumes them.

export class Channel<T> implements AsyncIterable<T> {
  private readonly buffer: T[] = [];
  private wake: (() => void) | null = null;
  private closed = false;
  private error: { err: unknown } | null = null;

  push(value: T): void {
    if (this.closed) return;
    this.buffer.push(value);
    this.notify();
  }

  close(): void {
    this.closed = true;
    this.notify();
  }

  fail(err: unknown): void {
    if (this.closed) return;
    this.error = { err };
    this.close();
  }

  private notify(): void {
    const w = this.wake;
    this.wake = null;
    w?.();
  }

  async *[Symbol.asyncIterator](): AsyncIterator<T> {
    for (;;) {
      if (this.buffer.length > 0) { yield this.buffer.shift()!; continue; }
      if (this.closed) {
        if (this.error) throw this.error.err;
        return;
      }
      await new Promise<void>((r) => { this.wake = r; });
    }
  }
}
