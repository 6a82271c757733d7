// tlm demo: the README's main job. Trains nanoGPT's CPU "baby GPT" (character-level, 4 layers,
// 4 heads, 128 wide, context 64) on the Tiny Shakespeare text shipped in data/, for at most
// --max-seconds, saves it, and prints generated text.

import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CliError, type CommandSpec, type FlagValues } from '../args.js';
import { runTraining, trainFlags } from './train.js';
import { loadModelDir } from '../../pipelines/model_dir.js';
import { generateInWindows } from '../../generate/index.js';
import { asTask } from '../../models/tasks.js';

const packageRoot = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..', '..');

const spec: CommandSpec = {
  name: 'demo',
  usage: 'demo [flags]',
  summary: 'Train a small character-level GPT on Tiny Shakespeare (a few minutes on 2 cores), then generate text.',
  flags: {
    out: { type: 'string', help: 'where to save the model (the default out/demo is replaced on each run; another directory must be new, or given with --overwrite)', default: 'out/demo' },
    overwrite: { type: 'boolean', help: 'replace a model already in --out' },
    'max-iters': { type: 'number', help: 'training steps', default: 2000, integer: true, min: 1 },
    'max-seconds': { type: 'number', help: 'stop training after this long', default: 170, gt: 0 },
    'max-new-tokens': { type: 'number', help: 'characters to generate', default: 500, integer: true, min: 0 },
    prompt: { type: 'string', help: 'text to continue', default: '\n' },
    seed: { type: 'number', help: 'random seed', default: 1337, integer: true, min: 0 },
    quiet: { type: 'boolean', help: 'no progress bar' },
  },
};

export default {
  spec,
  async run(f: FlagValues): Promise<void> {
    const data = join(packageRoot, 'data', 'tinyshakespeare.txt');
    if (!existsSync(data)) throw new CliError(`tlm demo: the bundled corpus is missing: ${data}`);
    const flags: FlagValues = {};
    for (const [k, v] of Object.entries(trainFlags)) flags[k] = v.default as FlagValues[string];
    Object.assign(flags, {
      data: [data], tokenizer: 'char', out: f.out, 'max-iters': f['max-iters'], 'lr-decay-iters': f['max-iters'],
      'max-seconds': f['max-seconds'], seed: f.seed, quiet: f.quiet, 'eval-interval': 250, 'eval-iters': 20,
      // The demo's own scratch directory is replaced on each run; any other --out is protected as tlm train's.
      overwrite: f.overwrite === true || f.out === spec.flags.out!.default,
    });
    console.error(`tlm demo: training a character-level GPT on Tiny Shakespeare (${data})`);
    const res = await runTraining(flags, 'tlm demo');
    if (res.interrupted) return;
    const { model: loaded, tokenizer: tok, encoder, blockSize } = await loadModelDir(res.outDir, 'tlm demo');
    const model = asTask(loaded, 'causal-lm', 'tlm demo');
    const prompt = f.prompt as string;
    const total = f['max-new-tokens'] as number;
    console.error(`\n--- sample (${total} characters, temperature 0.8, top-k 200) ---`);
    process.stdout.write(prompt);
    // The model sees at most blockSize tokens: sample in windows over the latest ones.
    await generateInWindows(model, Array.from(encoder.encode(prompt).ids),
      { maxNewTokens: total, context: blockSize, doSample: true, temperature: 0.8, topK: 200, seed: f.seed as number },
      tok, (text) => process.stdout.write(text));
    process.stdout.write('\n');
  },
};
