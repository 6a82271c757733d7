// Generation past a model's context: nanoGPT crops the context to the last block of tokens and
// keeps sampling. Here the text comes in windows: each generates half a context of new tokens
// from the preceding tokens that fit, so a 64-position model can write a page.

import { generate, type GenerateOptions, type GenerationModel } from './generate.js';
import { IncrementalDetokenizer, type TokenDecoder } from './streamers.js';
import { findStopString } from './stopping.js';

export interface WindowOptions extends Omit<GenerateOptions, 'maxNewTokens' | 'stopStrings'> {
  maxNewTokens: number;
  /** The model's context length (n_positions). */
  context: number;
  stopStrings?: readonly string[];
}

/**
 * Generates opts.maxNewTokens tokens after ids, in windows of context/2 new tokens, calling onText
 * with decoded text as it comes (never splitting a character). Stops early at EOS (a window that
 * ends short) or a stop string (the text before it is emitted). Returns every new token.
 */
export async function generateInWindows(model: GenerationModel, ids: readonly number[], opts: WindowOptions,
                                        tokenizer: TokenDecoder, onText: (text: string) => void): Promise<number[]> {
  const { context, stopStrings, maxNewTokens, ...rest } = opts;
  const chunk = Math.max(1, Math.floor(context / 2));
  const all = [...ids];
  const fresh: number[] = [];
  const detok = new IncrementalDetokenizer(tokenizer);
  const stops = stopStrings ?? [];
  let text = '', emitted = 0;
  for (let round = 0; fresh.length < maxNewTokens; round++) {
    const window = all.slice(-(context - chunk));
    const n = Math.min(chunk, maxNewTokens - fresh.length);
    const seed = rest.seed === undefined ? undefined : rest.seed + round;
    const [seq] = await generate(model, [window], { ...rest, seed, maxNewTokens: n }) as number[][];
    const added = seq!.slice(window.length);
    all.push(...added);
    fresh.push(...added);
    text += detok.push(added);
    const hit = findStopString(text, stops);
    // Hold back a tail that could still grow into a stop string.
    const safe = hit ? hit.index : Math.max(emitted, text.length - Math.max(0, ...stops.map((s) => s.length - 1)));
    if (safe > emitted) { onText(text.slice(emitted, safe)); emitted = safe; }
    if (hit || added.length < n) return fresh;
  }
  text += detok.flush();
  if (text.length > emitted) onText(text.slice(emitted));
  return fresh;
}
