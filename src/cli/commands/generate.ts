// tlm generate: continue a prompt with a model directory (config.json, model.safetensors and a
// tokenizer), streaming the text to stdout as it is produced. Greedy by default; --temperature,
// --top-k, --top-p or --do-sample switch to sampling; --num-beams > 1 runs beam search (printed at
// the end: beams are only known when the search finishes).

import { CliError, type CommandSpec, type FlagValues } from '../args.js';
import { asTask, supportsTask, type PreTrainedModel } from '../../models/index.js';
import type { Tokenizer } from '../../tokenizers/index.js';
import { loadModelDir } from '../../pipelines/model_dir.js';
import { findStopString } from '../../generate/stopping.js';
import type { GenerateOptions, GenerationModel } from '../../generate/generate.js';
import { generateInWindows } from '../../generate/window.js';
import { deviceFlag, useDevice } from '../device.js';

const spec: CommandSpec = {
  name: 'generate',
  usage: 'generate --model DIR --prompt TEXT [flags]',
  summary: 'Generate text from a model directory, streamed to stdout (greedy unless a sampling flag is given).',
  flags: {
    model: { type: 'string', help: 'model directory: config.json, model.safetensors, tokenizer.json (or vocab files)' },
    prompt: { type: 'string', help: 'text to continue (seq2seq models: the source text)' },
    'max-new-tokens': { type: 'number', help: 'tokens to generate at most', default: 50, integer: true, min: 1 },
    'do-sample': { type: 'boolean', help: 'sample instead of greedy decoding (implied by --temperature, --top-k, --top-p)' },
    temperature: { type: 'number', help: 'sampling temperature (0: greedy)', min: 0 },
    'top-k': { type: 'number', help: 'sample among the k most likely tokens (0: all; default 50 when sampling)', integer: true, min: 0 },
    'top-p': { type: 'number', help: 'nucleus sampling: the smallest set of tokens with probability mass >= p', gt: 0, max: 1 },
    'repetition-penalty': { type: 'number', help: 'penalty > 1 for tokens already present (CTRL, as HF)', gt: 0 },
    'no-repeat-ngram-size': { type: 'number', help: 'never repeat an n-gram of this size', integer: true, min: 1 },
    'num-beams': { type: 'number', help: 'beam search with this many beams', default: 1, integer: true, min: 1 },
    'length-penalty': { type: 'number', help: 'beam search: score = sum log p / length^penalty', default: 1 },
    seed: { type: 'number', help: 'random seed for sampling (same seed, same text)', integer: true, min: 0 },
    stop: { type: 'strings', help: 'stop before this text (repeatable; \\n and \\t are understood)' },
    'no-prompt': { type: 'boolean', help: 'print only the generated text, not the prompt before it' },
    device: deviceFlag,
  },
};

/** \n, \t, \r and \\ in a flag value, so that `--stop '\n\n'` means two newlines. */
function unescape(s: string): string {
  return s.replace(/\\([ntr\\])/g, (_, c: string) => ({ n: '\n', t: '\t', r: '\r', '\\': '\\' })[c]!);
}


/** The model, which must generate text (a causal or seq2seq LM), and its tokenizer. */
async function loadModel(dir: string): Promise<{ model: GenerationModel & PreTrainedModel; tok: Tokenizer }> {
  const { model, tokenizer } = await loadModelDir(dir, 'tlm generate');
  const lm = supportsTask(model, 'seq2seq-lm') ? model : asTask(model, 'causal-lm', `tlm generate: ${dir}`);
  return { model: lm as PreTrainedModel & GenerationModel, tok: tokenizer };
}

export default {
  spec,
  async run(f: FlagValues): Promise<void> {
    if (f.model === undefined) throw new CliError('tlm generate: --model DIR is required');
    if (f.prompt === undefined) throw new CliError('tlm generate: --prompt TEXT is required');
    const num = (k: string) => f[k] as number | undefined;
    const maxNewTokens = num('max-new-tokens')!, temperature = num('temperature'), topK = num('top-k'), topP = num('top-p');
    const repetitionPenalty = num('repetition-penalty'), noRepeat = num('no-repeat-ngram-size'), numBeams = num('num-beams')!, seed = num('seed');
    const stops = ((f.stop as string[] | undefined) ?? []).map(unescape);
    if (stops.some((s) => s.length === 0)) throw new CliError('tlm generate: --stop must not be empty');
    // Temperature 0 means greedy, as in most tools; any other sampling flag means sampling.
    const doSample = temperature !== 0 && (f['do-sample'] === true || temperature !== undefined || topK !== undefined || topP !== undefined);
    if (doSample && numBeams > 1) throw new CliError('tlm generate: --num-beams > 1 is beam search; it does not combine with sampling flags');

    await useDevice(f, 'tlm generate');
    const { model, tok } = await loadModel(f.model as string);
    const prompt = f.prompt as string;
    const ids = Array.from(tok.encode(prompt, { addSpecialTokens: false }).ids);
    const unknown = tok.unknownPieces(prompt);
    if (unknown.length > 0) {
      console.error(`tlm generate: warning: the model's vocabulary has no ${unknown.map((p) => JSON.stringify(p)).join(', ')}; the prompt's ${unknown.length === 1 ? 'occurrences were' : 'pieces were'} replaced by ${tok.unkToken} (the model sees ${tok.unkToken}, not the text echoed)`);
    }
    const opts: GenerateOptions = {
      maxNewTokens, doSample, repetitionPenalty, noRepeatNgramSize: noRepeat, numBeams, seed,
      ...(doSample ? { temperature, topK, topP } : {}),
      ...(numBeams > 1 ? { lengthPenalty: f['length-penalty'] as number } : {}),
      ...(stops.length ? { stopStrings: stops, tokenizer: tok } : {}),
    };
    const seq2seq = supportsTask(model, 'seq2seq-lm');
    // The prompt goes out with the first piece, so that an error before any token prints nothing.
    let started = false;
    const write = (text: string) => {
      if (!started && !f['no-prompt'] && !seq2seq) process.stdout.write(prompt);
      started = true;
      process.stdout.write(text);
    };
    try {
      const context = (model.config as { n_positions?: number }).n_positions ?? Infinity;
      if (numBeams === 1 && !seq2seq && ids.length + maxNewTokens > context) {
        // Longer than the model can see at once: continue in windows over the latest tokens.
        console.error(`tlm generate: ${ids.length} + ${maxNewTokens} tokens exceed the model's context of ${context}; continuing in windows of the last ${context} tokens`);
        await generateInWindows(model, ids, { ...opts, maxNewTokens, context, stopStrings: stops }, tok, write);
      } else if (numBeams === 1) {
        for await (const piece of model.generateStream([ids], opts, tok)) write(piece);
      } else {
        const out = await model.generate([ids], opts);
        let text = tok.decode(out[0]!.slice(seq2seq ? 1 : ids.length), { skipSpecialTokens: true });
        const hit = findStopString(text, stops);
        if (hit) text = text.slice(0, hit.index);
        write(text);
      }
    } catch (err) {
      if (started) process.stdout.write('\n');
      throw new CliError(`tlm generate: ${(err as Error).message.replace(/^generate(Stream)?: /, '')}`);
    }
    write('');
    process.stdout.write('\n');
  },
};
