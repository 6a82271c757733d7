// Request bodies, checked with zod before anything else runs: a malformed request gets a 400 that
// names the field (errors.ts fromZod), never reaches a model, never crashes the server. Unknown
// fields are ignored, as OpenAI's SDKs send extras; fields tlm does not implement are refused when
// they would change the result (refuseUnsupported).

import { z } from 'zod';

/** Per-request caps (the server's flags set them): over a cap is a 400, never a silent cut. */
export interface Limits {
  /** Choices per request (n × prompts). */
  maxN: number;
  /** Stop strings per request. */
  maxStops: number;
  /** max_tokens at most (and the chat default's ceiling). */
  maxTokens: number;
  /** Inputs per embeddings / classify / translate / summarize request. */
  maxInputs: number;
  /** Tokens of a text for /v1/attention (the response grows as layers × heads × T²). */
  maxAttentionTokens: number;
}

export const DEFAULT_LIMITS: Limits = { maxN: 8, maxStops: 4, maxTokens: 2048, maxInputs: 64, maxAttentionTokens: 256 };

const opt = <T extends z.ZodType>(t: T) => t.nullish();
const tokenIds = z.array(z.number().int().min(0)).min(1);

function sampling(L: Limits) {
  return {
    model: z.string().min(1),
    max_tokens: opt(z.number().int().min(1).max(L.maxTokens)),
    temperature: opt(z.number().min(0).max(2)),
    top_p: opt(z.number().gt(0).max(1)),
    /** Extension (as vLLM): keep the k likeliest tokens; 0 = off. */
    top_k: opt(z.number().int().min(0)),
    n: opt(z.number().int().min(1).max(L.maxN)),
    stop: opt(z.union([z.string().min(1), z.array(z.string().min(1)).max(L.maxStops)])),
    seed: opt(z.number().int().min(0).max(2 ** 31 - 1)),
    stream: opt(z.boolean()),
    stream_options: opt(z.object({ include_usage: opt(z.boolean()) })),
    presence_penalty: opt(z.number().min(-2).max(2)),
    frequency_penalty: opt(z.number().min(-2).max(2)),
    user: opt(z.string()),
  };
}

export function completionSchema(L: Limits) {
  return z.object({
    ...sampling(L),
    prompt: z.union([z.string(), z.array(z.string()).min(1), tokenIds, z.array(tokenIds).min(1)]),
    logprobs: opt(z.number().int().min(0).max(5)),
    echo: opt(z.boolean()),
    best_of: opt(z.number().int().min(1)),
    suffix: opt(z.string()),
  });
}

const textPart = z.object({ type: z.literal('text'), text: z.string() });
const message = z.object({
  role: z.enum(['system', 'user', 'assistant', 'tool']),
  content: z.union([z.string(), z.array(textPart).min(1)]),
  name: opt(z.string()),
  tool_call_id: opt(z.string()),
});

export function chatSchema(L: Limits) {
  return z.object({
    ...sampling(L),
    messages: z.array(message).min(1),
    max_completion_tokens: opt(z.number().int().min(1).max(L.maxTokens)),
    logprobs: opt(z.boolean()),
    top_logprobs: opt(z.number().int().min(0).max(20)),
    tools: opt(z.array(z.unknown())),
    response_format: opt(z.object({ type: z.string() })),
  });
}

export type CompletionRequest = z.infer<ReturnType<typeof completionSchema>>;
export type ChatRequest = z.infer<ReturnType<typeof chatSchema>>;

/** The first field that asks for something tlm does not do, as "field: why", or null. */
export function refuseUnsupported(b: Record<string, unknown>): string | null {
  if (b.presence_penalty) return 'presence_penalty: not supported (only 0)';
  if (b.frequency_penalty) return 'frequency_penalty: not supported (only 0)';
  if (b.echo) return 'echo: not supported';
  if (typeof b.best_of === 'number' && b.best_of > 1) return 'best_of: not supported (only 1)';
  if (b.suffix) return 'suffix: not supported';
  if (Array.isArray(b.tools) && b.tools.length > 0) return 'tools: not supported';
  const fmt = (b.response_format as { type?: string } | null | undefined)?.type;
  if (fmt !== undefined && fmt !== 'text') return `response_format: only {"type": "text"} is supported, got '${fmt}'`;
  if (b.top_logprobs !== undefined && b.top_logprobs !== null && b.logprobs !== true) return 'top_logprobs: needs logprobs: true';
  return null;
}

export function embeddingSchema(L: Limits) {
  return z.object({
    model: z.string().min(1),
    input: z.union([z.string(), z.array(z.string()).min(1).max(L.maxInputs)]),
    encoding_format: opt(z.enum(['float', 'base64'])),
    user: opt(z.string()),
  });
}

export const tokenizeSchema = z.object({
  model: opt(z.string().min(1)),
  text: z.string(),
  add_special_tokens: opt(z.boolean()),
});

export const attentionSchema = z.object({ model: z.string().min(1), text: z.string().min(1) });

export function classifySchema(L: Limits) {
  return z.object({ model: z.string().min(1), input: z.union([z.string(), z.array(z.string()).min(1).max(L.maxInputs)]) });
}

export const answerSchema = z.object({ model: z.string().min(1), question: z.string().min(1), context: z.string().min(1) });

export function seq2seqSchema(L: Limits) {
  return z.object({
    model: z.string().min(1),
    input: z.union([z.string(), z.array(z.string()).min(1).max(L.maxInputs)]),
    num_beams: opt(z.number().int().min(1).max(8)),
    max_tokens: opt(z.number().int().min(1).max(L.maxTokens)),
  });
}
