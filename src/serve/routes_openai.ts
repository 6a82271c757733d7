// GET /v1/models, POST /v1/embeddings, POST /tokenize, GET /health, GET /metrics.

import type { FastifyInstance } from 'fastify';
import { badRequest } from './errors.js';
import { embeddingSchema, tokenizeSchema } from './schemas.js';
import type { ServeContext } from './context.js';

/** Float32 little-endian bytes in base64: OpenAI's encoding_format "base64" (the SDK's default). */
function base64Floats(v: number[]): string {
  return Buffer.from(Float32Array.from(v).buffer).toString('base64');
}

export function registerOpenAIRoutes(app: FastifyInstance, ctx: ServeContext, o: { started: number; shuttingDown: () => boolean }): void {
  app.get('/v1/models', async () => ({
    object: 'list',
    data: [...ctx.models.values()].map((m) => ({
      id: m.info.name, object: 'model', created: Math.floor(o.started / 1000), owned_by: 'tlm',
      // Extensions the playground reads: what the model is and which routes it serves.
      architecture: m.info.architecture, tasks: m.info.tasks, context_length: m.info.contextLength,
      layers: m.info.layers, heads: m.info.heads,
    })),
  }));

  app.get('/v1/models/:id', async (request) => {
    const m = ctx.model((request.params as { id: string }).id);
    return { id: m.info.name, object: 'model', created: Math.floor(o.started / 1000), owned_by: 'tlm' };
  });

  const embedding = embeddingSchema(ctx.limits);
  app.post('/v1/embeddings', async (request) => {
    const body = ctx.parse(embedding, request.body);
    const m = ctx.model(body.model);
    const texts = typeof body.input === 'string' ? [body.input] : body.input;
    // As sentence-transformers: the tokenizer's special tokens ([CLS] … [SEP] for BERT) included.
    const inputs = texts.map((t, i) => {
      const ids = m.tokenizer.encodeIds(t, { addSpecialTokens: true });
      const where = texts.length > 1 ? `input[${i}]` : 'input';
      if (ids.length === 0) throw badRequest(`${where}: is empty (no tokens to embed)`, 'input');
      if (ids.length > m.info.contextLength) {
        throw badRequest(`${where}: has ${ids.length} tokens, over the model's maximum context length of ${m.info.contextLength} tokens`, 'input', 'context_length_exceeded');
      }
      return ids;
    });
    const vectors = await ctx.host.call<number[][]>(m.info.name, 'embed', { inputs });
    const tokens = inputs.reduce((a, x) => a + x.length, 0);
    return {
      object: 'list', model: m.info.name,
      data: vectors.map((v, index) => ({ object: 'embedding', index, embedding: body.encoding_format === 'base64' ? base64Floats(v) : v })),
      usage: { prompt_tokens: tokens, total_tokens: tokens },
    };
  });

  app.post('/tokenize', async (request) => {
    const body = ctx.parse(tokenizeSchema, request.body);
    const m = body.model ? ctx.model(body.model) : ctx.models.values().next().value!;
    const enc = m.tokenizer.encode(body.text, { addSpecialTokens: body.add_special_tokens ?? true });
    return { model: m.info.name, tokens: enc.tokens, ids: enc.ids, count: enc.ids.length };
  });

  // Open even with an API key (load balancers probe it); 503 once shutdown began or the worker died.
  app.get('/health', async (_request, reply) => {
    const dead = ctx.host.dead;
    if (dead || o.shuttingDown()) return reply.code(503).send({ status: dead ? 'error' : 'shutting_down', ...(dead ? { message: dead.message } : {}) });
    return { status: 'ok', models: [...ctx.models.keys()] };
  });

  app.get('/metrics', async (_request, reply) => {
    reply.header('content-type', ctx.metrics.registry.contentType);
    return ctx.metrics.registry.metrics();
  });
}
