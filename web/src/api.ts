// The server's JSON routes, typed as the page uses them. Errors come back in OpenAI's shape
// ({"error": {"message", ...}}) and are rethrown with that message.
import { sseData } from './sse';

export interface ModelInfo { id: string; tasks: string[] }

export interface Logprobs {
  tokens: string[];
  token_logprobs: number[];
  top_logprobs: Record<string, number>[] | null;
}
export interface CompletionChunk { text: string; logprobs: Logprobs | null; finishReason: string | null }

export interface CompletionRequest {
  model: string; prompt: string; max_tokens: number; temperature: number; top_p: number;
  seed?: number; logprobs: number;
}

export interface Attention { tokens: string[]; layers: number; heads: number; weights: number[][][][] }
export interface Classification { label: string; probs: Record<string, number> }
export interface Answer { answer: string; score: number; start: number; end: number }

let apiKey = '';
export function setApiKey(key: string): void { apiKey = key.trim(); }

function headers(): Record<string, string> {
  const h: Record<string, string> = { 'content-type': 'application/json' };
  if (apiKey) h.authorization = `Bearer ${apiKey}`;
  return h;
}

async function failure(res: Response): Promise<Error> {
  const text = await res.text();
  try {
    const message = (JSON.parse(text) as { error?: { message?: string } }).error?.message;
    if (message) return new Error(message);
  } catch { /* not JSON: fall through to the status line */ }
  return new Error(`${res.status} ${res.statusText}${text ? `: ${text.slice(0, 200)}` : ''}`);
}

export async function getJson<T>(path: string): Promise<T> {
  const res = await fetch(path, { headers: headers() });
  if (!res.ok) throw await failure(res);
  return (await res.json()) as T;
}

export async function postJson<T>(path: string, body: unknown): Promise<T> {
  const res = await fetch(path, { method: 'POST', headers: headers(), body: JSON.stringify(body) });
  if (!res.ok) throw await failure(res);
  return (await res.json()) as T;
}

export async function listModels(): Promise<ModelInfo[]> {
  const list = await getJson<{ data: { id: string; tasks?: string[] }[] }>('./v1/models');
  return list.data.map((m) => ({ id: m.id, tasks: m.tasks ?? [] }));
}

/** Streams a completion: one chunk per SSE event, until `data: [DONE]`. */
export async function* streamCompletion(req: CompletionRequest, signal: AbortSignal): AsyncGenerator<CompletionChunk> {
  const res = await fetch('./v1/completions', {
    method: 'POST', headers: headers(), signal, body: JSON.stringify({ ...req, stream: true }),
  });
  if (!res.ok) throw await failure(res);
  if (!res.body) throw new Error('the server sent no stream');
  for await (const data of sseData(res.body)) {
    if (data === '[DONE]') return;
    const chunk = JSON.parse(data) as {
      error?: { message: string };
      choices?: { text: string; logprobs?: Logprobs | null; finish_reason?: string | null }[];
    };
    if (chunk.error) throw new Error(chunk.error.message);
    const choice = chunk.choices?.[0];
    if (!choice) continue; // the usage-only chunk
    yield { text: choice.text, logprobs: choice.logprobs ?? null, finishReason: choice.finish_reason ?? null };
  }
}
