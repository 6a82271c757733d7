// Where a prompt's starting values come from. A soft prompt starts from word embeddings (PEFT's
// SAMPLE_VOCAB / TEXT); a prefix can start from what real words put in each layer: the keys and
// values the frozen model itself computes for them (Li & Liang 2021, §7.2: "initializing the prefix
// with activations of real words" beats random initialisation). A random N(0, 1) prefix is far
// from the scale of the model's own keys and values, so training first has to undo its noise.

import { noGrad, tidy } from '../tensor/engine.js';
import { cat } from '../tensor/ops/indexing.js';
import { tensor } from '../tensor/ops/creation.js';
import type { Generator } from '../tensor/random.js';
import type { Tensor } from '../tensor/tensor.js';
import { Linear } from '../nn/linear.js';
import type { Module } from '../nn/module.js';
import { RotaryEmbedding } from '../nn/positional.js';

/** Anything that turns text into ids, as tlm's Tokenizer.encode (special tokens included, as PEFT's tokenizer(text)). */
export interface PromptInitTokenizer { encode(text: string): { ids: number[] } }

/**
 * 'random': N(0, 1) (PEFT's RANDOM); 'sample-vocab': random vocabulary tokens (SAMPLE_VOCAB);
 * { text, tokenizer }: the text's tokens, repeated or cut to P (TEXT). tokenizerNameOrPath is
 * written to adapter_config.json (PEFT needs it for TEXT).
 */
export type PromptInit = 'random' | 'sample-vocab' | { text: string; tokenizer: PromptInitTokenizer; tokenizerNameOrPath?: string };

/** PEFT's TEXT init: the text's token ids, repeated until there are P, then cut to P. */
export function textInitIds(ids: number[], P: number, where = 'applyPromptTuning'): number[] {
  if (ids.length === 0) throw new Error(`${where}: init text encodes to no tokens`);
  return Array.from({ length: P }, (_, i) => ids[i % ids.length]!);
}

/** The P token ids an init names (null for 'random'), each checked against the vocabulary. */
export function promptInitIds(init: PromptInit, P: number, vocabSize: number, generator: Generator, where: string): number[] | null {
  if (init === 'random') return null;
  if (init === 'sample-vocab') return Array.from({ length: P }, () => generator.int(0, vocabSize));
  if (typeof init !== 'object' || init === null || typeof init.text !== 'string' || typeof init.tokenizer?.encode !== 'function') {
    throw new Error(`${where}: init must be 'random', 'sample-vocab' or { text, tokenizer }, got ${JSON.stringify(init)}`);
  }
  const ids = textInitIds(init.tokenizer.encode(init.text).ids, P, where);
  const bad = ids.find((i) => !(i >= 0 && i < vocabSize));
  if (bad !== undefined) throw new Error(`${where}: init text has token id ${bad}, outside the model's ${vocabSize} embeddings (a tokenizer of another model?)`);
  return ids;
}

/** Each layer's key and value projections, in layer order: attention modules with `key` and `value` Linears (BERT's). */
function keyValueProjections(model: Module): { key: Linear; value: Linear }[] {
  const found: { key: Linear; value: Linear }[] = [];
  for (const [, m] of model.namedModules()) {
    const kids = new Map(m.namedChildren());
    const key = kids.get('key'), value = kids.get('value');
    if (key instanceof Linear && value instanceof Linear) found.push({ key, value });
  }
  return found;
}

/**
 * The prefix [P, numLayers·2·d] (PrefixEncoder's flat layout: per token, layer 0's key, layer 0's
 * value, layer 1's key, ...) that the frozen model computes for `ids`: one forward pass in eval mode
 * with the key and value projections recorded. The tokens run at positions 0..P−1: under ALiBi (or
 * relative positions) their keys carry no position, as a positionless prefix's must not; under
 * learned positions their states hold the first P positions' embeddings. Models whose keys are
 * rotated by position (RoPE) or come from a fused projection (GPT-2's c_attn) are refused.
 */
export function prefixFromActivations(model: Module, ids: number[], numLayers: number, where: string): Tensor {
  const forward = (model as { forward?: (inputs: { inputIds: Tensor }) => unknown }).forward;
  if (typeof forward !== 'function') throw new Error(`${where}: ${model.constructor.name} has no forward to compute the prefix's activations with`);
  const projections = keyValueProjections(model);
  if (projections.length !== numLayers) {
    throw new Error(`${where}: init from activations needs each layer's key and value projections (BERT's attention); found ${projections.length} for ${numLayers} layers in ${model.constructor.name}`);
  }
  if ([...model.namedModules()].some(([, m]) => m instanceof RotaryEmbedding)) throw new Error(`${where}: init from activations does not support rotary positions (the prefix's keys would carry them)`);
  const recorded: Tensor[] = [];
  const restore: (() => void)[] = [];
  for (const { key, value } of projections) {
    for (const lin of [key, value]) {
      const own = lin.forward;
      lin.forward = (x: Tensor) => { const y = own.call(lin, x); recorded.push(y); return y; };
      restore.push(() => Reflect.deleteProperty(lin, 'forward')); // the class's forward again
    }
  }
  const wasTraining = model.training;
  model.eval();
  try {
    return noGrad(() => tidy(() => {
      forward.call(model, { inputIds: tensor(Int32Array.from(ids), { shape: [1, ids.length] }) });
      // recorded: layer 0's key [1, P, d], its value, layer 1's key, ... → [P, 2L·d].
      return cat(recorded.map((t) => t.squeeze(0)), 1);
    }));
  } finally {
    for (const r of restore) r();
    model.train(wasTraining);
  }
}
