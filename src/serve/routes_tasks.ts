// The task routes, on the library's pipelines (src/pipelines): /v1/classify, /v1/answer,
// /v1/translate, /v1/summarize, and /v1/attention for the playground's heatmaps. A model whose
// task does not fit the route gets a 404 that says what the model is and what the route needs.

import type { FastifyInstance } from 'fastify';
import { badRequest } from './errors.js';
import { answerSchema, attentionSchema, classifySchema, seq2seqSchema } from './schemas.js';
import type { ServeContext } from './context.js';
import type { AnswerResult, AttentionResult, ClassifyResult } from './protocol.js';

const list = (x: string | string[]) => (typeof x === 'string' ? [x] : x);

export function registerTaskRoutes(app: FastifyInstance, ctx: ServeContext): void {
  const classify = classifySchema(ctx.limits), seq2seq = seq2seqSchema(ctx.limits);

  app.post('/v1/classify', async (request) => {
    const body = ctx.parse(classify, request.body);
    const m = ctx.modelFor(body.model, 'sequence-classification', '/v1/classify');
    const r = await ctx.host.call<ClassifyResult>(m.info.name, 'classify', { inputs: list(body.input) });
    return {
      object: 'list', model: m.info.name, labels: r.labels,
      data: r.results.map((x, index) => ({ index, label: x.label, probs: Object.fromEntries(r.labels.map((l, i) => [l, x.probs[i]!])) })),
    };
  });

  app.post('/v1/answer', async (request) => {
    const body = ctx.parse(answerSchema, request.body);
    const m = ctx.modelFor(body.model, 'question-answering', '/v1/answer');
    const [a] = await ctx.host.call<AnswerResult[]>(m.info.name, 'answer', { examples: [{ question: body.question, context: body.context }] });
    return { object: 'answer', model: m.info.name, answer: a!.text, score: a!.score, probability: a!.probability, start: a!.start, end: a!.end };
  });

  for (const verb of ['translate', 'summarize'] as const) {
    app.post(`/v1/${verb}`, async (request) => {
      const body = ctx.parse(seq2seq, request.body);
      const m = ctx.modelFor(body.model, 'seq2seq-lm', `/v1/${verb}`);
      const outputs = await ctx.host.call<string[]>(m.info.name, verb, {
        inputs: list(body.input), numBeams: body.num_beams ?? undefined, maxNewTokens: body.max_tokens ?? undefined,
      });
      return { object: 'list', model: m.info.name, data: outputs.map((text, index) => ({ index, text })) };
    });
  }

  app.post('/v1/attention', async (request) => {
    const body = ctx.parse(attentionSchema, request.body);
    const m = ctx.model(body.model);
    const enc = m.tokenizer.encode(body.text, { addSpecialTokens: true });
    const T = enc.ids.length, cap = Math.min(ctx.limits.maxAttentionTokens, m.info.contextLength);
    if (T === 0) throw badRequest('text: has no tokens', 'text');
    if (T > cap) throw badRequest(`text: has ${T} tokens, over the attention map limit of ${cap} tokens`, 'text', 'too_many_tokens');
    const r = await ctx.host.call<AttentionResult>(m.info.name, 'attention', { ids: enc.ids });
    // Each token as the text it spells (byte-level BPE's 'Ġthe' is ' the'), for the page's axes.
    const tokens = enc.ids.map((id) => m.tokenizer.decode([id], { skipSpecialTokens: false }));
    return { model: m.info.name, tokens, ids: enc.ids, layers: r.layers, heads: r.heads, weights: r.weights };
  });
}
