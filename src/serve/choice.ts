// One choice of a completion: the engine's token events → text deltas, cut at the first stop
// string (the stop text itself is never returned), with each token's log-probabilities. Shared by
// /v1/completions and /v1/chat/completions, streaming or not.

import { IncrementalDetokenizer, type TokenDecoder } from '../generate/streamers.js';
import { findStopString, partialStopSuffix } from '../generate/stopping.js';
import type { TokenEvent } from '../generate/batch_engine.js';
import type { GenerationStream } from './model_host.js';

export interface TokenLogprob {
  token: string;
  logprob: number;
  top: { token: string; logprob: number }[];
}

/** Text that became final, and the tokens consumed since the previous delta (with logprobs). */
export interface Delta { text: string; tokens: TokenLogprob[] }

export interface ChoiceResult {
  text: string;
  finishReason: 'stop' | 'length';
  /** Generated tokens, the EOS or the token that completed a stop string included. */
  completionTokens: number;
  tokens: TokenLogprob[];
}

export interface ChoiceOptions {
  stops: readonly string[];
  /** Report logprobs for each token (its alternatives: as many as the engine was asked for). */
  logprobs: boolean;
  /** Called for every token (streaming); a returned promise is awaited (backpressure). */
  onDelta?: (d: Delta) => void | Promise<void>;
  /** Called once, when the first token arrives (time to first token). */
  onFirstToken?: () => void;
}

function logprobOf(tok: TokenDecoder, ev: TokenEvent): TokenLogprob {
  const text = (id: number) => tok.decode([id], { skipSpecialTokens: false });
  return { token: text(ev.token), logprob: ev.logprob, top: ev.top.map((t) => ({ token: text(t.token), logprob: t.logprob })) };
}

/**
 * Reads the stream to its end, or to the first stop string (then the sequence is cancelled: the
 * engine frees its slot at its next step). Text that might be the beginning of a stop string is held
 * back until the next tokens decide.
 */
export async function runChoice(stream: GenerationStream, tok: TokenDecoder, o: ChoiceOptions): Promise<ChoiceResult> {
  const detok = new IncrementalDetokenizer(tok);
  const tokens: TokenLogprob[] = [];
  let full = '', sent = 0, count = 0;
  let finish: 'stop' | 'length' | null = null, cutAtStop = false;
  // Releases text up to `end` (never past a stop string's start).
  const release = async (end: number, lp: TokenLogprob[]) => {
    const text = full.slice(sent, Math.max(sent, end));
    sent = Math.max(sent, end);
    if ((text !== '' || lp.length > 0) && o.onDelta) await o.onDelta({ text, tokens: lp });
  };
  for await (const ev of stream.events) {
    if (count === 0) o.onFirstToken?.();
    count++;
    // The EOS token ends the text; it is counted in usage, but is not a token of the content.
    if (ev.isEos) { finish = 'stop'; break; }
    const lp = o.logprobs ? [logprobOf(tok, ev)] : [];
    tokens.push(...lp);
    full += detok.push([ev.token]);
    const hit = findStopString(full, o.stops);
    if (hit) {
      full = full.slice(0, hit.index);
      finish = 'stop';
      cutAtStop = true;
      stream.cancel();
      await release(hit.index, lp);
      break;
    }
    await release(full.length - partialStopSuffix(full, o.stops), lp);
  }
  if (finish === null) {
    const r = await stream.done;
    finish = r.finishReason === 'length' ? 'length' : 'stop';
  }
  if (!cutAtStop) {
    // The held-back tail (an unfinished character, or a possible stop-string prefix) goes out now.
    full += detok.flush();
    const hit = findStopString(full, o.stops);
    if (hit) full = full.slice(0, hit.index);
    await release(full.length, []);
  }
  return { text: full, finishReason: finish, completionTokens: count, tokens };
}
