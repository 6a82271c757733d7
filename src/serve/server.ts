// createServer(): the fastify app of `tlm serve`, with its models loaded (in the worker) and its
// routes, hooks and error handling in place; it does not listen (the CLI or a test does).
//
//   const app = await createServer({ models: [{ name: 'gpt2', dir: 'out/gpt2' }], apiKey: 'sk-…' });
//   await app.listen({ host: '127.0.0.1', port: 8080 });
//   process.on('SIGTERM', () => app.shutdown().then(() => process.exit(0)));

import { createHash, timingSafeEqual } from 'node:crypto';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import Fastify, { type FastifyInstance } from 'fastify';
import fastifyStatic from '@fastify/static';
import { InputError } from '../errors.js';
import { Tokenizer } from '../tokenizers/index.js';
import { ApiError, fromFastify, shuttingDown } from './errors.js';
import { chatTemplateFor } from './chat_template.js';
import { ModelHost } from './model_host.js';
import { ServerMetrics } from './metrics.js';
import { ServeContext, type ServedModel } from './context.js';
import { DEFAULT_LIMITS, type Limits } from './schemas.js';
import { registerGenerationRoutes } from './routes_generate.js';
import { registerOpenAIRoutes } from './routes_openai.js';
import { registerTaskRoutes } from './routes_tasks.js';
import type { ModelSpec } from './protocol.js';

export interface ServeOptions {
  models: ModelSpec[];
  /** Every route but /health (and the playground's static files) then needs `Authorization: Bearer KEY`. */
  apiKey?: string;
  /** Running sequences per model (default 16), then waiting ones (default 64), then 429. */
  maxBatch?: number;
  maxQueue?: number;
  /** Where the models live and run: 'cpu' (default) or 'webgpu'. */
  device?: 'cpu' | 'webgpu';
  /** Largest request body in bytes (default 1 MiB); larger ones get 413. */
  bodyLimit?: number;
  limits?: Partial<Limits>;
  logger?: boolean;
  /** The prebuilt playground (default dist/web beside this build); served at / when it exists. */
  webRoot?: string;
}

export type TlmServer = FastifyInstance & {
  /** Refuses new requests (503), waits for those in flight to finish, then closes the app. */
  shutdown(): Promise<void>;
};

/** Paths that need the API key: the API itself. The page's files hold no data (its API calls send the key). */
const isApiPath = (url: string) => /^\/(v1\/|tokenize|metrics)/.test(url);

const digest = (s: string) => createHash('sha256').update(s).digest();

export async function createServer(o: ServeOptions): Promise<TlmServer> {
  if (o.models.length === 0) throw new InputError('tlm serve: give at least one --model');
  const names = o.models.map((m) => m.name), dup = names.find((n, i) => names.indexOf(n) !== i);
  if (dup !== undefined) throw new InputError(`tlm serve: two models are named '${dup}' (name them: --model NAME=DIR)`);
  let host: ModelHost;
  try {
    host = await ModelHost.start(o.models, { maxBatch: o.maxBatch ?? 16, maxQueue: o.maxQueue ?? 64, device: o.device });
  } catch (err) {
    throw new InputError((err as Error).message);
  }
  const models = new Map<string, ServedModel>();
  try {
    for (const info of host.models) {
      const tokenizer = await Tokenizer.fromPretrained(info.dir);
      models.set(info.name, { info, tokenizer, chat: chatTemplateFor(tokenizer, info.dir) });
    }
  } catch (err) {
    await host.close();
    throw err instanceof InputError ? err : new InputError(`tlm serve: ${(err as Error).message}`);
  }
  const metrics = new ServerMetrics(() => host.stats);
  const ctx = new ServeContext(host, models, { ...DEFAULT_LIMITS, ...o.limits }, metrics);
  // Logs go to stderr: stdout carries only the URL line that scripts read.
  const app = Fastify({ bodyLimit: o.bodyLimit ?? 1 << 20, logger: o.logger ? { level: 'info', stream: process.stderr } : false }) as unknown as TlmServer;

  let closing = false, active = 0;
  let idle: (() => void) | null = null;
  const key = o.apiKey ? digest(o.apiKey) : null;
  app.addHook('onRequest', async (request, reply) => {
    const t0 = performance.now();
    active++;
    // On the socket, not onResponse: streamed (hijacked) replies count too.
    reply.raw.once('close', () => {
      active--;
      const route = request.routeOptions.url ?? 'unmatched';
      metrics.requests.inc({ route, method: request.method, status: String(reply.raw.statusCode) });
      metrics.latency.observe({ route }, (performance.now() - t0) / 1000);
      if (active === 0) idle?.();
    });
    if (closing) throw shuttingDown();
    if (key && isApiPath(request.url)) {
      const m = /^Bearer\s+(.+)$/i.exec(request.headers.authorization ?? '');
      if (!m) throw new ApiError(401, 'Missing API key: send the header Authorization: Bearer KEY', 'invalid_request_error', null, 'missing_api_key');
      if (!timingSafeEqual(digest(m[1]!.trim()), key)) throw new ApiError(401, 'Incorrect API key', 'invalid_request_error', null, 'invalid_api_key');
    }
  });

  app.setErrorHandler((err, request, reply) => {
    const e = err instanceof ApiError ? err : fromFastify(err as { statusCode?: number; code?: string; message: string });
    if (e.status >= 500) request.log.error(err);
    if (reply.sent || reply.raw.headersSent) return;
    void reply.code(e.status).send(e.body());
  });
  app.setNotFoundHandler((request, reply) => {
    void reply.code(404).send(new ApiError(404, `Unknown route: ${request.method} ${request.url.split('?')[0]}`, 'invalid_request_error', null, 'unknown_route').body());
  });

  registerOpenAIRoutes(app, ctx, { started: Date.now(), shuttingDown: () => closing });
  registerGenerationRoutes(app, ctx);
  registerTaskRoutes(app, ctx);
  const webRoot = o.webRoot ?? fileURLToPath(new URL('../../web/', import.meta.url));
  // The pages are cross-origin isolated (COOP + COEP), so the training page's kernels get shared
  // memory and threads; everything they load is same-origin.
  const setHeaders = (res: { setHeader(name: string, value: string): void }) => {
    res.setHeader('Cross-Origin-Opener-Policy', 'same-origin');
    res.setHeader('Cross-Origin-Embedder-Policy', 'require-corp');
  };
  if (existsSync(join(webRoot, 'index.html'))) await app.register(fastifyStatic, { root: webRoot, prefix: '/', setHeaders });

  app.addHook('onClose', async () => { await host.close(); });
  app.decorate('shutdown', async () => {
    closing = true;
    if (active > 0) await new Promise<void>((resolve) => { idle = resolve; });
    await app.close();
  });
  return app;
}
