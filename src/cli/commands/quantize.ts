// tlm quantize: a model directory's weights to int8 (one scale per output channel) or 4-bit (one
// scale per 32 inputs), written to a new directory that tlm generate, chat and serve load as any
// other. The layout: README's "Quantized inference".

import { CliError, type CommandSpec, type FlagValues } from '../args.js';
import { quantizeModelDir } from '../../pipelines/quantize_dir.js';

const spec: CommandSpec = {
  name: 'quantize',
  usage: 'quantize --model DIR --bits 8|4 --out DIR',
  summary: 'Quantize a causal LM (GPT-2, Llama, Qwen2, Mistral) to int8 or 4-bit weights for faster, smaller inference on the CPU.',
  flags: {
    model: { type: 'string', help: 'model directory to read: config.json, model.safetensors, tokenizer files' },
    bits: { type: 'string', choices: ['8', '4'], help: '8: int8, one scale per output channel; 4: 4-bit, one scale per group of 32 inputs' },
    out: { type: 'string', help: 'directory to write the quantized model to (created if missing; must differ from --model)' },
  },
};

const mb = (bytes: number) => `${(bytes / 1e6).toFixed(1)} MB`;

export default {
  spec,
  async run(f: FlagValues): Promise<void> {
    if (f.model === undefined) throw new CliError('tlm quantize: --model DIR is required');
    if (f.bits === undefined) throw new CliError('tlm quantize: --bits 8|4 is required');
    if (f.out === undefined) throw new CliError('tlm quantize: --out DIR is required');
    const bits = Number(f.bits) as 8 | 4;
    const r = await quantizeModelDir(f.model as string, f.out as string, bits, 'tlm quantize');
    const skipped = r.skipped.length ? `; left in float32 (in_features not a multiple of 32): ${r.skipped.join(', ')}` : '';
    console.log(`tlm quantize: ${r.architecture}, ${r.modules.length} layers to ${bits} bits: ${mb(r.floatBytes)} of float32 weights → ${mb(r.quantizedBytes)}${skipped}`);
    console.log(`wrote ${f.out as string} (config.json, model.safetensors${r.copied.length ? `, ${r.copied.join(', ')}` : ''})`);
  },
};
