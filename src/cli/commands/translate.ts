// tlm translate and tlm summarize: a seq2seq model over texts, one output line per input line, in
// order, streamed as each batch finishes (a progress line on a terminal).

import { CliError, type CommandSpec, type FlagValues } from '../args.js';
import { loadSeq2Seq, runSeq2Seq } from '../../pipelines/seq2seq_apply.js';
import { readTextFile } from '../../pipelines/finetune_data.js';

export function seq2seqCommand(name: 'translate' | 'summarize'): { spec: CommandSpec; run(f: FlagValues, positionals: string[]): Promise<void> } {
  const summaries = name === 'summarize';
  const spec: CommandSpec = {
    name,
    usage: `${name} --model DIR (TEXT | --input FILE) [flags]`,
    summary: summaries ? 'Summarize texts with an encoder-decoder model: one summary line per input line (write a dialogue\'s turns as \\n in its line).'
      : 'Translate texts with an encoder-decoder model: one output line per input line, in order.',
    positionals: true,
    flags: {
      model: { type: 'string', help: 'model directory (MarianMT or tlm-seq2seq layout, with tokenizer.json)' },
      input: { type: 'string', help: 'one text per line' },
      'num-beams': { type: 'number', help: 'beam search width (1: greedy)', default: 4, integer: true, min: 1 },
      'batch-size': { type: 'number', help: 'sources decoded at once', default: 16, integer: true, min: 1 },
      'max-length': { type: 'number', help: 'longest input in tokens (longer ones are refused unless --truncate)', integer: true, min: 2 },
      truncate: { type: 'boolean', help: 'cut longer inputs to --max-length' },
      'max-new-tokens': { type: 'number', help: 'output tokens at most (default: the input\'s length + 50)', integer: true, min: 1 },
      'length-penalty': { type: 'number', help: 'beam score = log p / length^penalty', default: 1 },
      ...(summaries ? {
        'min-new-tokens': { type: 'number' as const, help: 'output tokens at least', integer: true, min: 0 },
        'no-repeat-ngram-size': { type: 'number' as const, help: 'never repeat an n-gram of this size', default: 3, integer: true, min: 0 },
      } : {}),
    },
  };
  return {
    spec,
    async run(f: FlagValues, positionals: string[]): Promise<void> {
      if (!f.model) throw new CliError(`tlm ${name}: --model DIR is required`);
      if (f.input !== undefined && positionals.length > 0) throw new CliError(`tlm ${name}: give TEXT or --input FILE, not both`);
      let inputs: string[];
      if (f.input !== undefined) {
        inputs = readTextFile(f.input as string, `tlm ${name}: input file`).split(/\r?\n/);
        if (inputs[inputs.length - 1] === '') inputs.pop();
        if (summaries) inputs = inputs.map((l) => l.replace(/\\n/g, '\n'));
      } else if (positionals.length > 0) inputs = [positionals.join(' ')];
      else throw new CliError(`tlm ${name}: give the text, or --input FILE`);
      const p = await loadSeq2Seq(f.model as string, `tlm ${name}`);
      let printed = 0;
      const tty = process.stderr.isTTY;
      await runSeq2Seq(p, inputs, {
        numBeams: f['num-beams'] as number, batchSize: f['batch-size'] as number, maxSourceLength: f['max-length'] as number | undefined,
        truncate: f.truncate === true, maxNewTokens: f['max-new-tokens'] as number | undefined, lengthPenalty: f['length-penalty'] as number,
        minNewTokens: f['min-new-tokens'] as number | undefined, noRepeatNgramSize: (f['no-repeat-ngram-size'] as number | undefined) || undefined,
        onBatch: (done, total) => {
          for (; printed < done.length; printed++) process.stdout.write(done[printed]!.replace(/\n/g, ' ') + '\n');
          if (tty) process.stderr.write(`\r${name}: ${done.length}/${total}`);
        },
      });
      if (tty) process.stderr.write('\n');
    },
  };
}

export default seq2seqCommand('translate');
