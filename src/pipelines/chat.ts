// A conversation with a causal LM: the message history, rendered with the model's chat template
// each turn (tokenizers/chat_template.ts, as HF's apply_chat_template), the reply streamed as text
// and stopped at the model's end-of-turn tokens. What `tlm chat` runs, and what a notebook can use.
//
// The context rule: a prompt must leave room for maxNewTokens in the model's context. When it does
// not, the oldest turns (a user message and the replies after it) go, whole, the system message
// stays, and the caller is told; a message is never cut in the middle.

import { InputError } from '../errors.js';
import { Generator } from '../tensor/index.js';
import { applyChatTemplate, chatTemplateOf, DEFAULT_CHAT_TEMPLATE, type ChatMessage, type Tokenizer } from '../tokenizers/index.js';
import { generateStream, type GenerateOptions, type GenerationModel } from '../generate/index.js';
import { eosTokenIds } from './eos.js';

export interface ChatOptions {
  /** The system message, first in every prompt. */
  system?: string;
  /** Tokens per reply at most (default 256); reserved in the context for every reply. */
  maxNewTokens?: number;
  /** Sampling (temperature > 0 or topP) or greedy (temperature 0); unset: generation_config.json decides, as HF. */
  temperature?: number;
  topP?: number;
  /** Seeds one generator for the whole conversation: the same inputs give the same replies. */
  seed?: number;
  /** A chat template to use instead of the tokenizer's. */
  chatTemplate?: string;
}

/** What a turn produces: notes about the history (turns dropped), then the reply's text pieces. */
export type ChatEvent = { note: string } | { text: string };

/** The tokens that end a reply: eos.ts's resolution, which `tlm serve` shares. */
export function chatEosTokenIds(model: GenerationModel, tok: Tokenizer): number[] {
  return eosTokenIds(model, tok);
}

export class ChatSession {
  /** The conversation so far (the system message first, when there is one). */
  readonly messages: ChatMessage[] = [];
  /** Whether the template is the model's own (false: DEFAULT_CHAT_TEMPLATE, a plain transcript). */
  readonly templateFromModel: boolean;
  private readonly template: string;
  private readonly maxNewTokens: number;
  private readonly eos: number[];
  private readonly generator: Generator | undefined;

  constructor(readonly model: GenerationModel, readonly tokenizer: Tokenizer, readonly contextLength: number, readonly opts: ChatOptions = {}) {
    this.maxNewTokens = opts.maxNewTokens ?? 256;
    if (!Number.isInteger(this.maxNewTokens) || this.maxNewTokens < 1) throw new InputError(`chat: maxNewTokens must be a positive integer, got ${this.maxNewTokens}`);
    if (this.maxNewTokens >= contextLength) throw new InputError(`chat: maxNewTokens (${this.maxNewTokens}) leaves no room for a prompt in the model's context of ${contextLength} tokens`);
    this.templateFromModel = opts.chatTemplate === undefined && Boolean(tokenizer.config?.chatTemplate);
    this.template = opts.chatTemplate ?? (this.templateFromModel ? chatTemplateOf(tokenizer) : DEFAULT_CHAT_TEMPLATE);
    this.eos = chatEosTokenIds(model, tokenizer);
    this.generator = opts.seed !== undefined ? new Generator(opts.seed) : undefined;
    this.reset();
  }

  /** Forgets every turn; the system message stays. */
  reset(): void {
    this.messages.length = 0;
    if (this.opts.system !== undefined) this.messages.push({ role: 'system', content: this.opts.system });
  }

  /** The prompt for the history as it stands, ending with the assistant's header. */
  promptIds(messages: readonly ChatMessage[] = this.messages): number[] {
    return applyChatTemplate(this.tokenizer, messages, { chatTemplate: this.template, addGenerationPrompt: true });
  }

  /**
   * Adds the user's message and streams the reply, which joins the history when it is complete.
   * Leaving the loop early (break) ends the reply there; what was produced stays in the history.
   */
  async *send(userText: string): AsyncGenerator<ChatEvent> {
    this.messages.push({ role: 'user', content: userText });
    let prompt: number[];
    try {
      const fitted = this.fit();
      prompt = fitted.prompt;
      if (fitted.dropped > 0) {
        yield { note: `dropped the ${fitted.dropped === 1 ? 'oldest turn' : `${fitted.dropped} oldest turns`} to fit the model's context of ${this.contextLength} tokens (${this.maxNewTokens} kept for the reply)` };
      }
    } catch (err) {
      this.messages.pop();
      throw err;
    }
    let reply = '';
    try {
      const sample = this.opts.temperature !== undefined ? this.opts.temperature > 0 : this.opts.topP !== undefined ? true : undefined;
      const gen: GenerateOptions = {
        maxNewTokens: this.maxNewTokens, eosTokenId: this.eos.length ? this.eos : null,
        ...(sample !== undefined ? { doSample: sample } : {}),
        ...(sample && this.opts.temperature !== undefined ? { temperature: this.opts.temperature } : {}),
        ...(sample && this.opts.topP !== undefined ? { topP: this.opts.topP } : {}),
        ...(this.generator ? { generator: this.generator } : {}),
        // A plain transcript has no end-of-turn token: the model's next "user:" line ends the reply.
        ...(this.templateFromModel || this.opts.chatTemplate !== undefined ? {} : { stopStrings: ['\nuser:'] }),
      };
      // The end-of-turn token is not part of the reply, even where it is not a special token.
      const eos = new Set(this.eos), tok = this.tokenizer;
      const decoder = { decode: (ids: number[], o?: { skipSpecialTokens?: boolean }) => tok.decode(ids.filter((t) => !eos.has(t)), o) };
      for await (const piece of generateStream(this.model, [prompt], gen, decoder)) {
        reply += piece;
        yield { text: piece };
      }
    } catch (err) {
      if (reply === '') { this.messages.pop(); throw err; }
      this.messages.push({ role: 'assistant', content: reply });
      throw err;
    }
    this.messages.push({ role: 'assistant', content: reply });
  }

  /**
   * Drops the oldest turns until the prompt leaves room for a reply; how many went. The history
   * changes only when the new message fits.
   */
  private fit(): { prompt: number[]; dropped: number } {
    const budget = this.contextLength - this.maxNewTokens;
    const msgs = this.messages.slice();
    let dropped = 0;
    for (;;) {
      const prompt = this.promptIds(msgs);
      if (prompt.length <= budget) {
        this.messages.splice(0, this.messages.length, ...msgs);
        return { prompt, dropped };
      }
      const first = msgs.findIndex((m) => m.role !== 'system');
      // A turn runs from a user message to the next one; none after it: only the new message is left.
      const next = msgs.findIndex((m, i) => i > first && m.role === 'user');
      if (next < 0) {
        throw new InputError(`chat: the message is too long: the prompt would be ${prompt.length} tokens, and the model's context of ${this.contextLength} tokens holds ${budget} besides the ${this.maxNewTokens} kept for the reply`);
      }
      msgs.splice(first, next - first);
      dropped++;
    }
  }
}
