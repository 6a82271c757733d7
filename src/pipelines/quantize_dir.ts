// Quantizing a model directory into another: the model's causal-LM layers to int8 or 4-bit
// (models/quantize), written as config.json (with quantization_config) + model.safetensors, with
// the tokenizer files copied beside them. Every file is written atomically (temp file + rename),
// as savePretrained writes; the source directory is only read.

import { existsSync, statSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { InputError, withFsContext } from '../errors.js';
import { writeFileAtomic } from '../io/atomic.js';
import { fromPretrained, quantizeModel, type QuantizeReport } from '../models/index.js';
import type { QuantBits } from '../backend/quant_format.js';

/** The files beside the weights that a model directory's users read: its tokenizer and chat template. */
export const TOKENIZER_FILES = ['tokenizer.json', 'tokenizer_config.json', 'special_tokens_map.json', 'added_tokens.json',
  'vocab.json', 'merges.txt', 'vocab.txt', 'tokenizer.model', 'spiece.model', 'source.spm', 'target.spm', 'chat_template.jinja'];

export interface QuantizeDirReport extends QuantizeReport {
  architecture: string;
  /** The tokenizer files copied. */
  copied: string[];
}

/** Reads the model in `dir`, quantizes it to `bits` and writes it to `out` (created if missing). */
export async function quantizeModelDir(dir: string, out: string, bits: QuantBits, command = 'quantize'): Promise<QuantizeDirReport> {
  if (bits !== 8 && bits !== 4) throw new InputError(`${command}: bits must be 8 or 4, got ${String(bits)}`);
  if (!existsSync(dir)) throw new InputError(`${command}: model directory not found: ${dir}`);
  if (!statSync(dir).isDirectory()) throw new InputError(`${command}: --model must be a directory, got the file ${dir}`);
  if (!existsSync(join(dir, 'config.json'))) throw new InputError(`${command}: no model in ${dir}: config.json is missing`);
  if (resolve(out) === resolve(dir)) throw new InputError(`${command}: --out must differ from --model (the float32 model stays where it is)`);
  if (existsSync(out) && !statSync(out).isDirectory()) throw new InputError(`${command}: --out must be a directory, got the file ${out}`);
  let model;
  try {
    model = await fromPretrained(dir, { warn: () => {} });
  } catch (err) {
    throw new InputError(`${command}: cannot load ${dir}: ${(err as Error).message}`);
  }
  try {
    let report: QuantizeReport;
    try {
      report = quantizeModel(model, { bits });
    } catch (err) {
      if (err instanceof InputError) throw new InputError(err.message.replace(/^quantize:/, `${command}:`));
      throw err;
    }
    const copied: string[] = [];
    await withFsContext('write the quantized model to', out, async () => {
      await model.savePretrained(out);
      for (const f of TOKENIZER_FILES) {
        if (!existsSync(join(dir, f))) continue;
        await writeFileAtomic(join(out, f), await readFile(join(dir, f)));
        copied.push(f);
      }
    });
    return { ...report, architecture: model.architecture, copied };
  } finally {
    model.dispose();
  }
}
