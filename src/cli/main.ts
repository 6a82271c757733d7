// The tlm command line: `tlm <command> [flags]`. Each command lives in its own module under
// ./commands and is loaded only when used, so `tlm --help` stays instant.

import { helpText, parseFlags, type CommandSpec, type FlagValues } from './args.js';
import { CheckpointMismatchError } from '../train/trainer.js';
import { InputError, describeFsError } from '../errors.js';
import { InvalidUtf8Error } from '../io/utf8.js';

export interface Command {
  spec: CommandSpec;
  run(flags: FlagValues, positionals: string[]): Promise<void>;
}

/** name → module path (relative to this file) and a one-line summary for `tlm --help`. */
const COMMANDS: Record<string, { module: string; summary: string }> = {
  tokenizer: { module: './commands/tokenizer.js', summary: 'train, inspect and convert tokenizers (tokenizer train|encode|decode)' },
  train: { module: './commands/train.js', summary: 'pretrain a language model (causal or masked LM) on text files' },
  generate: { module: './commands/generate.js', summary: 'generate text from a trained model' },
  eval: { module: './commands/eval.js', summary: 'loss and perplexity of a language model, or a task model\'s metrics (--task)' },
  finetune: { module: './commands/finetune.js', summary: 'fine-tune a model for classification or extractive QA (full, LoRA, head only)' },
  classify: { module: './commands/classify.js', summary: 'label texts with a fine-tuned classifier' },
  answer: { module: './commands/answer.js', summary: 'answer a question from a context with a QA model' },
  translate: { module: './commands/translate.js', summary: 'translate texts with an encoder-decoder model' },
  summarize: { module: './commands/summarize.js', summary: 'summarize texts with an encoder-decoder model' },
  quantize: { module: './commands/quantize.js', summary: 'quantize a causal LM to int8 or 4-bit weights (faster, smaller CPU inference)' },
  chat: { module: './commands/chat.js', summary: 'chat with a model in the terminal (its chat template, streaming, /reset)' },
  serve: { module: './commands/serve.js', summary: 'serve models over HTTP: OpenAI-compatible API, task routes, playground' },
  demo: { module: './commands/demo.js', summary: 'train a small GPT on Tiny Shakespeare, then generate' },
  bench: { module: './commands/bench.js', summary: 'run the benchmarks (same as npm run bench)' },
};

function mainHelp(): string {
  const width = Math.max(...Object.keys(COMMANDS).map((k) => k.length)) + 2;
  return ['Usage: tlm <command> [flags]', '', 'Transformer language models in TypeScript.', '', 'Commands:',
    ...Object.entries(COMMANDS).map(([k, c]) => `  ${k.padEnd(width)}${c.summary}`),
    '', 'Run tlm <command> --help for the flags of a command.'].join('\n');
}

export async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  // No arguments asks for the same help as --help: printed on stdout, exit 0.
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    console.log(mainHelp());
    return 0;
  }
  if (name === '--version') { console.log('tlm 0.1.0'); return 0; }
  const entry = COMMANDS[name];
  if (entry === undefined) {
    console.error(`tlm: unknown command '${name}' (see tlm --help)`);
    return 2;
  }
  const mod = (await import(entry.module)) as { default: Command };
  const cmd = mod.default;
  try {
    const { flags, positionals, help } = parseFlags(cmd.spec, rest);
    if (help) { console.log(helpText(cmd.spec)); return 0; }
    await cmd.run(flags, positionals);
    return 0;
  } catch (err) {
    if (err instanceof InputError || err instanceof CheckpointMismatchError || err instanceof InvalidUtf8Error) { console.error(err.message); return 2; }
    // A filesystem error that escaped with only errno text: say it with its path.
    const path = (err as { path?: string } | null)?.path;
    const fs = path ? describeFsError(err, 'access', path) : err;
    if (fs instanceof InputError) { console.error(`tlm ${name}: ${fs.message}`); return 2; }
    throw err;
  }
}

