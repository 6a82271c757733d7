// What training, evaluation and the applications share: choosing or training a tokenizer, building
// a model from its dimensions, and reading / writing model directories.

import { existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { InputError, withFsContext } from '../errors.js';
import { forEachTextChunk, type MlmOptions, type TextReadOptions } from '../train/data.js';
import { Tokenizer, trainByteLevelBpe, trainCharLevel, trainWordPiece, BERT_SPECIAL_TOKENS } from '../tokenizers/index.js';
import { fromPretrained, GPT2LMHeadModel, gpt2Config, BertForMaskedLM, bertConfig, LlamaForCausalLM, tasksOf, type PreTrainedModel, type TaskName } from '../models/index.js';
import type { LanguageModel } from '../train/trainer.js';
import type { PositionType } from '../nn/positional.js';

export interface PreparedTokenizer {
  tokenizer: Tokenizer;
  vocabSize: number;
  padId: number | undefined;
  encode(text: string): { ids: number[] };
  tokenToId(token: string): number | undefined;
}

function wrap(tokenizer: Tokenizer): PreparedTokenizer {
  return {
    tokenizer,
    vocabSize: tokenizer.vocabSize,
    padId: tokenizer.tokenToId('[PAD]'),
    // Training text is tokenized without special tokens (no [CLS]/[SEP] around every chunk).
    encode: (text) => ({ ids: tokenizer.encodeIds(text, { addSpecialTokens: false }) }),
    tokenToId: (t) => tokenizer.tokenToId(t),
  };
}

function readTexts(files: string[], o: TextReadOptions): string[] {
  const texts: string[] = [];
  for (const f of files) forEachTextChunk(f, (t) => texts.push(t), o);
  return texts;
}

/**
 * The tokenizer for a run: 'char' (a character vocabulary from the data), 'bpe' (byte-level BPE for
 * causal LMs, WordPiece for masked LMs, trained on the data to vocabSize), or a tokenizer.json /
 * model directory. A resumed run reuses the tokenizer saved in its output directory.
 */
export async function prepareTokenizer(arg: string, files: string[], o: { vocabSize: number; objective: 'clm' | 'mlm';
  resumeDir?: string; log?: (s: string) => void; saveTo?: string; text?: TextReadOptions }): Promise<PreparedTokenizer> {
  const log = o.log ?? (() => {});
  if (o.resumeDir && existsSync(join(o.resumeDir, 'tokenizer.json'))) return wrap(await Tokenizer.fromFile(join(o.resumeDir, 'tokenizer.json')));
  const specials = o.objective === 'mlm' ? BERT_SPECIAL_TOKENS : undefined; // char default: just [UNK]
  let tok: Tokenizer;
  if (arg === 'char') {
    tok = trainCharLevel(readTexts(files, o.text ?? {}), { specialTokens: specials });
    log(`tokenizer: ${tok.vocabSize} characters`);
  } else if (arg === 'bpe') {
    if (!(o.vocabSize >= 2)) throw new InputError(`--vocab-size must be at least 2, got ${o.vocabSize}`);
    const t0 = Date.now();
    tok = o.objective === 'mlm' ? trainWordPiece(readTexts(files, o.text ?? {}), { vocabSize: o.vocabSize })
      : trainByteLevelBpe(readTexts(files, o.text ?? {}), { vocabSize: o.vocabSize });
    log(`tokenizer: ${o.objective === 'mlm' ? 'WordPiece' : 'byte-level BPE'}, ${tok.vocabSize} tokens, trained in ${((Date.now() - t0) / 1000).toFixed(1)}s`);
  } else {
    if (!existsSync(arg)) throw new InputError(`tokenizer not found: ${arg} (use char, bpe, or a tokenizer.json path)`);
    tok = statSync(arg).isDirectory() ? await Tokenizer.fromPretrained(arg) : await Tokenizer.fromFile(arg);
  }
  if (o.objective === 'mlm' && tok.tokenToId('[MASK]') === undefined) throw new InputError('masked LM training needs a [MASK] token in the tokenizer');
  if (o.saveTo) await withFsContext('write', join(o.saveTo, 'tokenizer.json'), () => tok.save(join(o.saveTo!, 'tokenizer.json')));
  return wrap(tok);
}

export function mlmOptionsFor(tok: PreparedTokenizer): MlmOptions {
  const maskId = tok.tokenToId('[MASK]');
  if (maskId === undefined) throw new InputError('masked LM training needs a [MASK] token in the tokenizer');
  const specialIds = new Set<number>();
  for (const t of BERT_SPECIAL_TOKENS) { const id = tok.tokenToId(t); if (id !== undefined) specialIds.add(id); }
  const clsId = tok.tokenToId('[CLS]'), sepId = tok.tokenToId('[SEP]');
  return { maskId, vocabSize: tok.vocabSize, specialIds, ...(clsId !== undefined && sepId !== undefined ? { clsId, sepId } : {}) };
}

export interface ModelDims {
  vocabSize: number; nLayer: number; nHead: number; nEmbd: number; blockSize: number; dropout: number; padTokenId?: number;
  /** GPT only: biases in linear layers and norms (default true), MLP activation (default gelu_new). */
  bias?: boolean; activation?: string;
  /** Standard deviation of the initial weights (HF's initializer_range; default 0.02). */
  initStd?: number;
  /** Causal LMs: GPT-2 (default) or Llama. */
  arch?: 'gpt2' | 'llama';
  /** Masked LMs: pre-norm layers and a final LayerNorm (a tlm extension of BERT, which HF's BertModel cannot load). */
  normFirst?: boolean;
  /** GPT-2 and BERT: the position scheme (default learned: GPT-2's wpe, BERT's absolute). */
  position?: string;
}
export interface Architecture { type: string; objective: 'clm' | 'mlm'; dims?: ModelDims; initFrom?: string }

export function buildModel(objective: 'clm' | 'mlm', d: ModelDims): { model: LanguageModel & PreTrainedModel; architecture: Architecture } {
  if (objective === 'clm' && d.arch === 'llama') {
    // SwiGLU's three matrices at 8d/3 (a multiple of 8) hold as many weights as a 4d GELU MLP's two, as in LLaMA.
    const model = new LlamaForCausalLM({ vocab_size: d.vocabSize, hidden_size: d.nEmbd, intermediate_size: 8 * Math.ceil(d.nEmbd / 3),
      num_hidden_layers: d.nLayer, num_attention_heads: d.nHead, num_key_value_heads: d.nHead, max_position_embeddings: d.blockSize,
      attention_dropout: d.dropout, bos_token_id: null, eos_token_id: null, ...(d.initStd !== undefined ? { initializer_range: d.initStd } : {}) });
    return { model, architecture: { type: model.architecture, objective, dims: d } };
  }
  if (objective === 'clm') {
    const model = new GPT2LMHeadModel(gpt2Config({ vocab_size: d.vocabSize, n_positions: d.blockSize, n_embd: d.nEmbd, n_layer: d.nLayer,
      n_head: d.nHead, resid_pdrop: d.dropout, embd_pdrop: d.dropout, attn_pdrop: d.dropout, bos_token_id: null, eos_token_id: null,
      bias: d.bias ?? true, activation_function: d.activation ?? 'gelu_new', ...(d.position ? { position_embedding_type: d.position as PositionType } : {}), ...(d.initStd !== undefined ? { initializer_range: d.initStd } : {}) }));
    return { model, architecture: { type: model.architecture, objective, dims: d } };
  }
  if (d.bias === false || d.activation !== undefined) throw new InputError('--no-bias and --activation apply to the GPT (causal LM) only');
  const model = new BertForMaskedLM(bertConfig({ vocab_size: d.vocabSize, hidden_size: d.nEmbd, num_hidden_layers: d.nLayer,
    num_attention_heads: d.nHead, intermediate_size: 4 * d.nEmbd, max_position_embeddings: d.blockSize,
    hidden_dropout_prob: d.dropout, attention_probs_dropout_prob: d.dropout, pad_token_id: d.padTokenId ?? 0,
    ...(d.normFirst ? { norm_first: true } : {}), ...(d.position ? { position_embedding_type: d.position } : {}),
    ...(d.initStd !== undefined ? { initializer_range: d.initStd } : {}) }));
  return { model, architecture: { type: model.architecture, objective, dims: d } };
}

/** Writes config.json, model.safetensors and tokenizer.json, each atomically. */
export async function saveModelDir(dir: string, model: { savePretrained(dir: string): Promise<void> }, tok: PreparedTokenizer): Promise<void> {
  await withFsContext('save the model to', dir, async () => {
    await model.savePretrained(dir);
    await tok.tokenizer.save(join(dir, 'tokenizer.json'));
  });
}

export interface LoadedModel {
  model: PreTrainedModel;
  tokenizer: Tokenizer;
  /** The tokenizer as training and scoring read text: no special tokens around each chunk. */
  encoder: PreparedTokenizer;
  /** The model's context length (n_positions / max_position_embeddings). */
  blockSize: number;
  tasks: readonly TaskName[];
}

/**
 * The model and tokenizer of an HF-layout directory (config.json, model.safetensors, and
 * tokenizer.json or vocab.json + merges.txt or vocab.txt), with one-line errors naming what is missing.
 */
export async function loadModelDir(dir: string, command = 'tlm'): Promise<LoadedModel> {
  if (!existsSync(dir)) throw new InputError(`${command}: model directory not found: ${dir}`);
  if (!statSync(dir).isDirectory()) throw new InputError(`${command}: --model must be a directory, got the file ${dir}`);
  if (!existsSync(join(dir, 'config.json'))) throw new InputError(`${command}: no model in ${dir}: config.json is missing`);
  if (!existsSync(join(dir, 'model.safetensors')) && !existsSync(join(dir, 'model.safetensors.index.json'))) throw new InputError(`${command}: no weights in ${dir}: model.safetensors is missing`);
  const hasTok = ['tokenizer.json', 'vocab.json', 'vocab.txt'].some((f) => existsSync(join(dir, f)));
  if (!hasTok) throw new InputError(`${command}: no tokenizer in ${dir}: tokenizer.json (or vocab.json + merges.txt, or vocab.txt) is missing`);
  let model: PreTrainedModel, tokenizer: Tokenizer;
  try {
    model = await fromPretrained(dir);
    tokenizer = await Tokenizer.fromPretrained(dir);
  } catch (err) {
    throw new InputError(`${command}: cannot load ${dir}: ${(err as Error).message}`);
  }
  const c = model.config as Record<string, unknown>;
  const blockSize = (c.n_positions ?? c.max_position_embeddings ?? c.max_position_embeddings_decoder ?? 512) as number;
  return { model, tokenizer, encoder: wrap(tokenizer), blockSize, tasks: tasksOf(model) };
}
