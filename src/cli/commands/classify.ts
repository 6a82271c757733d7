// tlm classify: labels and probabilities of texts with a fine-tuned classifier (or a base model plus
// a PEFT adapter): one text given as an argument, or one per line of --file, answered in input order.

import { CliError, type CommandSpec, type FlagValues } from '../args.js';
import { loadTaskModel, classifyTexts, clozeClassify, parseVerbalizer } from '../../pipelines/apply.js';
import { readTextFile } from '../../pipelines/finetune_data.js';

const spec: CommandSpec = {
  name: 'classify',
  usage: 'classify --model DIR [--adapter DIR] (TEXT | --file FILE) [--json]',
  summary: 'Classify texts with a sequence-classification model: the label and each label\'s probability, in input order.',
  positionals: true,
  flags: {
    model: { type: 'string', help: 'classifier directory (or the base model of --adapter)' },
    adapter: { type: 'string', help: 'a PEFT adapter directory (LoRA) to apply on --model' },
    file: { type: 'string', help: 'classify each line of this file' },
    pair: { type: 'string', help: 'second text of a sentence-pair task (with TEXT)' },
    cloze: { type: 'string', help: 'zero-shot with a masked LM (--model): a template with {text} and [MASK], e.g. "{text} It was [MASK]."' },
    verbalizer: { type: 'strings', help: 'with --cloze: LABEL=word[,word] for each label (e.g. positive=great negative=terrible)' },
    json: { type: 'boolean', help: 'one JSON object per input: {"label", "probs"} (probs in label-id order)' },
    'max-length': { type: 'number', help: 'tokens per input (default: the model\'s)', integer: true, min: 2 },
    'batch-size': { type: 'number', help: 'inputs per forward pass', default: 32, integer: true, min: 1 },
  },
};

export default {
  spec,
  async run(f: FlagValues, positionals: string[]): Promise<void> {
    if (!f.model) throw new CliError('tlm classify: --model DIR is required');
    if (f.file !== undefined && positionals.length > 0) throw new CliError('tlm classify: give TEXT or --file FILE, not both');
    let inputs: { text: string; textPair?: string }[];
    if (f.file !== undefined) {
      const lines = readTextFile(f.file as string, 'tlm classify: input file').split(/\r?\n/);
      if (lines[lines.length - 1] === '') lines.pop();
      inputs = lines.map((text) => ({ text }));
    } else if (positionals.length > 0) {
      inputs = [{ text: positionals.join(' '), ...(f.pair !== undefined ? { textPair: f.pair as string } : {}) }];
    } else {
      throw new CliError('tlm classify: give the text to classify, or --file FILE');
    }
    const { labels, results } = f.cloze !== undefined
      ? await clozeClassify(f.model as string, inputs.map((x) => x.text), f.cloze as string, parseVerbalizer((f.verbalizer as string[] | undefined) ?? [], 'tlm classify'), 'tlm classify')
      : await classifyTexts(await loadTaskModel(f.model as string, 'sequence-classification', { adapter: f.adapter as string | undefined, command: 'tlm classify' }),
        inputs, { maxLength: f['max-length'] as number | undefined, batchSize: f['batch-size'] as number });
    for (const r of results) {
      if (f.json) console.log(JSON.stringify({ label: r.label, probs: r.probs.map((x) => Math.round(x * 1e6) / 1e6) }));
      else console.log(`${r.label}\t${r.probs[labels.indexOf(r.label)]!.toFixed(4)}`);
    }
  },
};
