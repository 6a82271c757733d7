// Runs a generation job (every choice of every prompt in the worker's engine) and answers as
// OpenAI does: one JSON body, or an SSE stream (role first, one id on every chunk, finish_reason on
// each choice's last chunk, an optional usage chunk, then [DONE]). A client that disconnects gets
// its sequences cancelled: the engine frees their slots at its next step.

import { randomUUID } from 'node:crypto';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { EngineRequest } from '../generate/batch_engine.js';
import { ApiError } from './errors.js';
import { runChoice, type ChoiceResult, type TokenLogprob } from './choice.js';
import { SseWriter } from './sse.js';
import type { ServeContext, ServedModel } from './context.js';
import type { GenerationStream } from './model_host.js';

export interface GenerationJob {
  kind: 'completion' | 'chat';
  model: ServedModel;
  prompts: { ids: number[]; maxTokens: number }[];
  n: number;
  stream: boolean;
  includeUsage: boolean;
  temperature: number;
  topP: number;
  topK: number;
  seed: number | undefined;
  stops: string[];
  /** null: no logprobs; k: each token's logprob and its k likeliest alternatives. */
  topLogprobs: number | null;
}

const utf8 = new TextEncoder();

/** Logprobs in the format of the endpoint: the legacy completions arrays, or chat's content list. */
function formatLogprobs(kind: GenerationJob['kind'], tokens: TokenLogprob[], offset: number): unknown {
  if (kind === 'chat') {
    const entry = (t: { token: string; logprob: number }) => ({ token: t.token, logprob: t.logprob, bytes: Array.from(utf8.encode(t.token)) });
    return { content: tokens.map((t) => ({ ...entry(t), top_logprobs: t.top.map(entry) })), refusal: null };
  }
  const textOffset: number[] = [];
  for (const t of tokens) { textOffset.push(offset); offset += t.token.length; }
  return {
    tokens: tokens.map((t) => t.token), token_logprobs: tokens.map((t) => t.logprob),
    top_logprobs: tokens.map((t) => Object.fromEntries(t.top.map((a) => [a.token, a.logprob]))), text_offset: textOffset,
  };
}

/** Submits every choice of every prompt together: the engine admits them all or refuses them all (429). */
async function submitAll(ctx: ServeContext, job: GenerationJob): Promise<GenerationStream[]> {
  const reqs: EngineRequest[] = [];
  job.prompts.forEach((p) => {
    for (let i = 0; i < job.n; i++) {
      const sample = job.temperature > 0;
      reqs.push({
        promptIds: p.ids, maxNewTokens: p.maxTokens, eosTokenIds: job.model.info.eosTokenIds, doSample: sample,
        ...(sample ? { temperature: job.temperature, topP: job.topP, topK: job.topK } : {}),
        // n choices with one seed would be n copies: choice i samples with seed + i.
        ...(job.seed !== undefined ? { seed: job.seed + i } : {}),
        ...(job.topLogprobs !== null ? { logprobs: true, topLogprobs: job.topLogprobs } : {}),
      });
    }
  });
  return ctx.host.generate(job.model.info.name, reqs);
}

export async function respond(ctx: ServeContext, request: FastifyRequest, reply: FastifyReply, job: GenerationJob): Promise<unknown> {
  const started = performance.now();
  const name = job.model.info.name, tok = job.model.tokenizer;
  const streams = await submitAll(ctx, job);
  // The client left before the answer was complete: free the engine's slots.
  reply.raw.on('close', () => { if (!reply.raw.writableFinished) for (const s of streams) s.cancel(); });
  const id = `${job.kind === 'chat' ? 'chatcmpl' : 'cmpl'}-${randomUUID().replace(/-/g, '')}`;
  const created = Math.floor(Date.now() / 1000);
  const object = job.kind === 'chat' ? (job.stream ? 'chat.completion.chunk' : 'chat.completion') : 'text_completion';
  const promptTokens = job.prompts.reduce((a, p) => a + p.ids.length, 0);
  ctx.metrics.promptTokens.inc({ model: name }, promptTokens);
  let firstToken = false;
  const onFirstToken = () => {
    if (!firstToken) ctx.metrics.timeToFirstToken.observe({ model: name }, (performance.now() - started) / 1000);
    firstToken = true;
  };
  const usage = (results: ChoiceResult[]) => {
    const completion = results.reduce((a, r) => a + r.completionTokens, 0);
    return { prompt_tokens: promptTokens, completion_tokens: completion, total_tokens: promptTokens + completion };
  };
  const logprobs = job.topLogprobs !== null;

  if (!job.stream) {
    let results: ChoiceResult[];
    try {
      results = await Promise.all(streams.map((s) => runChoice(s, tok, { stops: job.stops, logprobs, onFirstToken })));
    } catch (err) {
      for (const s of streams) s.cancel(); // one choice failed: the others would run for nobody
      throw err;
    }
    ctx.metrics.generatedTokens.inc({ model: name }, usage(results).completion_tokens);
    return {
      id, object, created, model: name, system_fingerprint: null,
      choices: results.map((r, index) => {
        const lp = logprobs ? formatLogprobs(job.kind, r.tokens, 0) : null;
        return job.kind === 'chat'
          ? { index, message: { role: 'assistant', content: r.text, refusal: null }, logprobs: lp, finish_reason: r.finishReason }
          : { index, text: r.text, logprobs: lp, finish_reason: r.finishReason };
      }),
      usage: usage(results),
    };
  }

  // Streaming: fastify hands the socket over; from here on errors go into the stream.
  reply.hijack();
  const sse = new SseWriter(reply.raw);
  sse.start();
  const extra = job.includeUsage ? { usage: null } : {};
  const chunk = (index: number, text: string | null, lp: unknown, finish: string | null, role = false) => ({
    id, object, created, model: name, system_fingerprint: null,
    choices: [job.kind === 'chat'
      ? { index, delta: finish !== null ? {} : { ...(role ? { role: 'assistant' } : {}), content: text }, logprobs: lp, finish_reason: finish }
      : { index, text: text ?? '', logprobs: lp, finish_reason: finish }],
    ...extra,
  });
  try {
    if (job.kind === 'chat') for (let i = 0; i < streams.length; i++) await sse.send(chunk(i, '', null, null, true));
    const results = await Promise.all(streams.map(async (s, index) => {
      let offset = 0;
      const r = await runChoice(s, tok, {
        stops: job.stops, logprobs, onFirstToken,
        onDelta: async (d) => {
          if (sse.gone) { s.cancel(); return; }
          await sse.send(chunk(index, d.text, logprobs ? formatLogprobs(job.kind, d.tokens, offset) : null, null));
          offset += d.tokens.reduce((a, t) => a + t.token.length, 0);
        },
      });
      await sse.send(chunk(index, job.kind === 'chat' ? null : '', null, r.finishReason));
      return r;
    }));
    ctx.metrics.generatedTokens.inc({ model: name }, usage(results).completion_tokens);
    if (job.includeUsage) await sse.send({ id, object, created, model: name, system_fingerprint: null, choices: [], usage: usage(results) });
  } catch (err) {
    for (const s of streams) s.cancel();
    const e = err instanceof ApiError ? err : new ApiError(500, `generation failed: ${(err as Error).message}`, 'server_error');
    request.log.error(err);
    await sse.send(e.body());
  }
  await sse.end();
  return reply;
}
