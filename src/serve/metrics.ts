// /metrics: Prometheus text from prom-client. Each server has its own registry (several servers in
// one process, as in tests, must not share counters). Engine gauges are read from the worker's
// latest report at scrape time, so a scrape never waits for a forward pass.

import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { EngineStats } from './protocol.js';

export class ServerMetrics {
  readonly registry = new Registry();
  readonly requests: Counter<'route' | 'method' | 'status'>;
  readonly promptTokens: Counter<'model'>;
  readonly generatedTokens: Counter<'model'>;
  readonly latency: Histogram<'route'>;
  readonly timeToFirstToken: Histogram<'model'>;

  constructor(stats: () => Record<string, EngineStats>) {
    const registers = [this.registry];
    this.requests = new Counter({ name: 'tlm_requests_total', help: 'HTTP requests by route and status', labelNames: ['route', 'method', 'status'], registers });
    this.promptTokens = new Counter({ name: 'tlm_prompt_tokens_total', help: 'Prompt tokens of generation requests', labelNames: ['model'], registers });
    this.generatedTokens = new Counter({ name: 'tlm_generated_tokens_total', help: 'Tokens generated', labelNames: ['model'], registers });
    this.latency = new Histogram({
      name: 'tlm_request_duration_seconds', help: 'Request latency, until the last byte (streams included)', labelNames: ['route'], registers,
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
    });
    this.timeToFirstToken = new Histogram({
      name: 'tlm_time_to_first_token_seconds', help: 'From request to the first generated token', labelNames: ['model'], registers,
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    });
    const gauge = (name: string, help: string, key: keyof EngineStats) => new Gauge({
      name, help, labelNames: ['model'], registers,
      collect() { for (const [model, s] of Object.entries(stats())) this.set({ model }, s[key]); },
    });
    gauge('tlm_running_sequences', 'Sequences in the running batch', 'running');
    gauge('tlm_queue_depth', 'Sequences waiting for a batch slot', 'queued');
    gauge('tlm_batch_size', 'Rows in the engine\'s latest step', 'batchSize');
  }
}
