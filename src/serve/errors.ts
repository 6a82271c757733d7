// OpenAI's error object, {"error": {"message", "type", "param", "code"}}, for every failure the
// server reports: clients (the official SDKs included) read `error.message` and the status code.

import type { ZodError } from 'zod';

export interface OpenAIErrorBody {
  error: { message: string; type: string; param: string | null; code: string | null };
}

/** An error that becomes an HTTP response: status + OpenAI error object. */
export class ApiError extends Error {
  override name = 'ApiError';
  constructor(readonly status: number, message: string, readonly type = 'invalid_request_error',
              readonly param: string | null = null, readonly code: string | null = null) {
    super(message);
  }
  body(): OpenAIErrorBody {
    return { error: { message: this.message, type: this.type, param: this.param, code: this.code } };
  }
}

export const badRequest = (message: string, param: string | null = null, code: string | null = null) => new ApiError(400, message, 'invalid_request_error', param, code);

export const modelNotFound = (name: string, known: readonly string[]) =>
  new ApiError(404, `The model '${name}' does not exist (loaded: ${known.join(', ')})`, 'invalid_request_error', 'model', 'model_not_found');

/** A route the model's task does not support: 404 with the reason (what the model is and can do). */
export const unsupported = (reason: string) => new ApiError(404, reason, 'invalid_request_error', 'model', 'unsupported_task');

export const queueFull = () => new ApiError(429, 'The server is at capacity (every batch slot and queue place is taken); retry later', 'rate_limit_exceeded', null, 'queue_full');

export const shuttingDown = () => new ApiError(503, 'The server is shutting down and accepts no new requests', 'server_error', null, 'shutting_down');

/** The first problem zod found, as one line naming the field ("temperature: ..."). */
export function fromZod(err: ZodError): ApiError {
  const issue = err.issues[0];
  if (issue === undefined) return badRequest('invalid request body');
  const path = issue.path.map((p, i) => (typeof p === 'number' ? `[${p}]` : `${i > 0 ? '.' : ''}${String(p)}`)).join('');
  // An unknown field in a strict object: name it.
  const keys = (issue as { keys?: string[] }).keys;
  const what = issue.code === 'unrecognized_keys' && keys ? `unknown field(s) ${keys.map((k) => `'${k}'`).join(', ')}` : issue.message;
  return badRequest(path ? `${path}: ${what}` : `request body: ${what}`, path || null);
}

/**
 * Fastify's own errors (bad JSON, body too large, unknown content type) as OpenAI errors with their
 * status; anything without a 4xx status is a bug, reported as 500 without internals.
 */
export function fromFastify(err: { statusCode?: number; code?: string; message: string }): ApiError {
  const status = err.statusCode ?? 500;
  if (status >= 400 && status < 500) {
    const messages: Record<string, string> = {
      FST_ERR_CTP_BODY_TOO_LARGE: 'Request body is too large',
      FST_ERR_CTP_INVALID_MEDIA_TYPE: 'Unsupported Content-Type: send application/json',
      FST_ERR_CTP_EMPTY_JSON_BODY: 'Request body is empty: send a JSON object',
      FST_ERR_CTP_INVALID_JSON_BODY: `Request body is not valid JSON: ${err.message}`,
    };
    return new ApiError(status, messages[err.code ?? ''] ?? err.message, 'invalid_request_error', null, err.code ?? null);
  }
  return new ApiError(500, `Internal server error: ${err.message}`, 'server_error');
}
