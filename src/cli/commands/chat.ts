// tlm chat: an interactive conversation with a chat model in the terminal. Each line is a message;
// the reply streams as it is generated; /reset forgets the conversation, /exit or Ctrl-D ends it.
// stdin may be a pipe (one message per line): replies go to stdout, one per line, and notes to
// stderr, so a transcript can be scripted and checked.

import { createInterface } from 'node:readline';
import { CliError, type CommandSpec, type FlagValues } from '../args.js';
import { asTask } from '../../models/index.js';
import { loadModelDir } from '../../pipelines/model_dir.js';
import { ChatSession } from '../../pipelines/chat.js';
import { InputError } from '../../errors.js';
import type { GenerationModel } from '../../generate/index.js';
import { deviceFlag, useDevice } from '../device.js';

const spec: CommandSpec = {
  name: 'chat',
  usage: 'chat --model DIR [flags]',
  summary: 'Chat with a model in the terminal: the conversation is rendered with the model\'s chat template '
    + '(tokenizer_config.json) each turn and the reply streams as it is generated. Type /reset to start over, '
    + '/exit or Ctrl-D to leave. Reads one message per line from a pipe too. When the conversation outgrows '
    + 'the model\'s context, the oldest turns are dropped (the system message stays), with a note.',
  flags: {
    model: { type: 'string', help: 'model directory: config.json, model.safetensors, tokenizer files (tokenizer_config.json for the chat template)' },
    system: { type: 'string', help: 'system message, first in every prompt' },
    'max-new-tokens': { type: 'number', help: 'tokens per reply at most (kept free in the context for each reply)', default: 256, integer: true, min: 1 },
    temperature: { type: 'number', help: 'sampling temperature (0: greedy; default: generation_config.json, else greedy)', min: 0 },
    'top-p': { type: 'number', help: 'nucleus sampling: the smallest set of tokens with probability mass >= p', gt: 0, max: 1 },
    seed: { type: 'number', help: 'random seed for sampling (same seed and messages, same replies)', integer: true, min: 0 },
    device: deviceFlag,
  },
};

const HELP = 'commands: /reset (forget the conversation), /exit (or Ctrl-D), /help';

export default {
  spec,
  async run(f: FlagValues): Promise<void> {
    if (f.model === undefined) throw new CliError('tlm chat: --model DIR is required');
    const dir = f.model as string;
    await useDevice(f, 'tlm chat');
    const { model, tokenizer, blockSize } = await loadModelDir(dir, 'tlm chat');
    const lm = asTask(model, 'causal-lm', `tlm chat: ${dir}`) as unknown as GenerationModel;
    let session: ChatSession;
    try {
      session = new ChatSession(lm, tokenizer, blockSize, {
        system: f.system as string | undefined, maxNewTokens: f['max-new-tokens'] as number,
        temperature: f.temperature as number | undefined, topP: f['top-p'] as number | undefined, seed: f.seed as number | undefined,
      });
    } catch (err) {
      throw new CliError(`tlm chat: ${(err as Error).message.replace(/^chat: /, '')}`);
    }
    const note = (s: string) => process.stderr.write(`[${s}]\n`);
    if (!session.templateFromModel) note(`${dir} has no chat_template in tokenizer_config.json: using a plain "role: content" transcript`);

    const tty = process.stdin.isTTY === true;
    const rl = createInterface({ input: process.stdin, output: tty ? process.stdout : undefined, terminal: tty, prompt: '> ' });
    if (tty) note(`chatting with ${dir}; ${HELP}`);
    // Ctrl-C ends the reply being generated; at the prompt it ends the chat.
    let replying = false, interrupted = false;
    rl.on('SIGINT', () => { if (replying) interrupted = true; else rl.close(); });
    if (tty) rl.prompt();
    for await (const raw of rl) {
      const line = raw.trim();
      if (line === '/exit' || line === '/quit') break;
      if (line === '/reset') { session.reset(); note('conversation cleared'); }
      else if (line === '/help') note(HELP);
      else if (line.startsWith('/')) note(`unknown command ${line.split(/\s/)[0]} (${HELP})`);
      else if (line !== '') {
        replying = true; interrupted = false;
        try {
          for await (const ev of session.send(raw)) {
            if ('note' in ev) note(ev.note);
            else process.stdout.write(ev.text);
            if (interrupted) break;
          }
          process.stdout.write('\n');
        } catch (err) {
          // A message the context cannot hold, or a template that refuses the conversation: say so, go on.
          if (!(err instanceof InputError)) throw err;
          note(err.message.replace(/^chat: /, ''));
        } finally {
          replying = false;
        }
      }
      if (tty) rl.prompt();
    }
    rl.close();
  },
};
