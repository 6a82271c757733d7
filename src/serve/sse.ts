// Server-sent events as OpenAI streams them: `data: <json>\n\n` per chunk, `data: [DONE]` last.
// Writes respect backpressure (a slow reader makes this request wait, not the others), and stop
// quietly once the client is gone.

import type { ServerResponse } from 'node:http';

export class SseWriter {
  private closed = false;

  constructor(private readonly res: ServerResponse) {
    res.on('close', () => { this.closed = true; });
  }

  start(): void {
    this.res.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-cache',
      connection: 'keep-alive',
      // Proxies (nginx) buffer responses unless told not to.
      'x-accel-buffering': 'no',
    });
    this.res.flushHeaders();
  }

  get gone(): boolean { return this.closed || this.res.destroyed; }

  /** One event; resolves once the socket can take more (or the client left). */
  async send(data: unknown): Promise<void> {
    await this.write(`data: ${JSON.stringify(data)}\n\n`);
  }

  async end(): Promise<void> {
    await this.write('data: [DONE]\n\n');
    if (!this.gone) this.res.end();
  }

  private async write(s: string): Promise<void> {
    if (this.gone) return;
    if (this.res.write(s)) return;
    await new Promise<void>((resolve) => {
      const done = () => { this.res.off('drain', done); this.res.off('close', done); resolve(); };
      this.res.on('drain', done);
      this.res.on('close', done);
    });
  }
}
