// POST /v1/completions and /v1/chat/completions: parse and check the request, tokenize the
// prompt(s), resolve max_tokens against the context, then hand the job to respond.ts.
//
// Defaults (OpenAI's where it has one): temperature 1 (0 = greedy), top_p 1, n 1; max_tokens 16 for
// completions (OpenAI's default) and the rest of the context for chat (capped by --max-tokens),
// in both cases never past the context. An explicit max_tokens that does not fit is a 400.

import type { FastifyInstance } from 'fastify';
import { badRequest } from './errors.js';
import { chatSchema, completionSchema, refuseUnsupported, type CompletionRequest } from './schemas.js';
import type { ServeContext, ServedModel } from './context.js';
import type { ChatMessage } from './chat_template.js';
import { respond, type GenerationJob } from './respond.js';

/** A completion's prompt(s) as token ids. An empty prompt starts from BOS, as OpenAI's does. */
function promptIds(m: ServedModel, prompt: CompletionRequest['prompt']): number[][] {
  const texts: (string | number[])[] = typeof prompt === 'string' ? [prompt]
    : typeof prompt[0] === 'number' ? [prompt as number[]] : (prompt as (string | number[])[]);
  const vocab = m.info.vocabSize;
  return texts.map((p, i) => {
    let ids = typeof p === 'string' ? m.tokenizer.encodeIds(p, { addSpecialTokens: false }) : p;
    const bad = ids.find((t) => t >= vocab);
    if (bad !== undefined) throw badRequest(`prompt${texts.length > 1 ? `[${i}]` : ''}: token id ${bad} is outside the vocabulary (0..${vocab - 1})`, 'prompt');
    if (ids.length === 0) {
      if (m.info.bosTokenId === null) throw badRequest('prompt: is empty, and the model has no BOS token to start from', 'prompt');
      ids = [m.info.bosTokenId];
    }
    return ids;
  });
}

/** max_tokens for a prompt: checked against the context (both numbers in the message), or the default. */
export function resolveMaxTokens(m: ServedModel, promptLength: number, requested: number | null | undefined, fallback: number): number {
  const context = m.info.contextLength;
  if (requested !== null && requested !== undefined) {
    if (promptLength + requested > context) {
      throw badRequest(`This model's maximum context length is ${context} tokens, but the prompt has ${promptLength} tokens and max_tokens is ${requested} `
        + `(${promptLength + requested} in all); shorten the prompt or lower max_tokens`, 'max_tokens', 'context_length_exceeded');
    }
    return requested;
  }
  const room = context - promptLength;
  if (room < 1) {
    throw badRequest(`This model's maximum context length is ${context} tokens, but the prompt has ${promptLength} tokens, which leaves no room to generate`,
      'prompt', 'context_length_exceeded');
  }
  return Math.min(fallback, room);
}

function stops(stop: string | string[] | null | undefined): string[] {
  return stop === null || stop === undefined ? [] : typeof stop === 'string' ? [stop] : stop;
}

function checkSupported(body: Record<string, unknown>): void {
  const problem = refuseUnsupported(body);
  if (problem) throw badRequest(problem, problem.split(':')[0]!);
}

export function registerGenerationRoutes(app: FastifyInstance, ctx: ServeContext): void {
  const completion = completionSchema(ctx.limits), chat = chatSchema(ctx.limits);

  app.post('/v1/completions', async (request, reply) => {
    const body = ctx.parse(completion, request.body);
    checkSupported(body);
    const m = ctx.modelFor(body.model, 'causal-lm', '/v1/completions');
    const prompts = promptIds(m, body.prompt);
    const n = body.n ?? 1;
    if (prompts.length * n > ctx.limits.maxN) throw badRequest(`n: ${prompts.length} prompts × n=${n} = ${prompts.length * n} choices, over the cap of ${ctx.limits.maxN}`, 'n');
    const job: GenerationJob = {
      kind: 'completion', model: m, n, stream: body.stream ?? false, includeUsage: body.stream_options?.include_usage ?? false,
      prompts: prompts.map((ids) => ({ ids, maxTokens: resolveMaxTokens(m, ids.length, body.max_tokens, 16) })),
      temperature: body.temperature ?? 1, topP: body.top_p ?? 1, topK: body.top_k ?? 0, seed: body.seed ?? undefined,
      stops: stops(body.stop), topLogprobs: body.logprobs ?? null,
    };
    return respond(ctx, request, reply, job);
  });

  app.post('/v1/chat/completions', async (request, reply) => {
    const body = ctx.parse(chat, request.body);
    checkSupported(body);
    const m = ctx.modelFor(body.model, 'causal-lm', '/v1/chat/completions');
    const messages: ChatMessage[] = body.messages.map((x) => ({
      role: x.role, content: typeof x.content === 'string' ? x.content : x.content.map((p) => p.text).join(''),
    }));
    let text: string;
    try {
      text = m.chat.render(messages);
    } catch (err) {
      // Templates reject some conversations themselves (raise_exception), e.g. roles that do not alternate.
      throw badRequest(`messages: the model's chat template refused them: ${(err as Error).message.replace(/^chat_template: /, '')}`, 'messages');
    }
    const ids = promptIds(m, text)[0]!;
    const requested = body.max_completion_tokens ?? body.max_tokens;
    const job: GenerationJob = {
      kind: 'chat', model: m, n: body.n ?? 1, stream: body.stream ?? false, includeUsage: body.stream_options?.include_usage ?? false,
      prompts: [{ ids, maxTokens: resolveMaxTokens(m, ids.length, requested, ctx.limits.maxTokens) }],
      temperature: body.temperature ?? 1, topP: body.top_p ?? 1, topK: body.top_k ?? 0, seed: body.seed ?? undefined,
      stops: stops(body.stop), topLogprobs: body.logprobs ? body.top_logprobs ?? 0 : null,
    };
    return respond(ctx, request, reply, job);
  });
}
