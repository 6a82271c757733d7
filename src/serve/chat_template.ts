// Chat messages → one prompt string, as HF's apply_chat_template: tokenizer_config.json's
// `chat_template` (Jinja) rendered with @huggingface/jinja. A base model without a template gets
// DEFAULT_TEMPLATE, a plain transcript that ends where the assistant's turn begins.

import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Template } from '@huggingface/jinja';
import { InputError } from '../errors.js';

export interface ChatMessage { role: 'system' | 'user' | 'assistant' | 'tool'; content: string }

/**
 * "role: content" lines, then "assistant:" (no trailing space: the model's first token usually
 * carries its own leading space in byte-level BPE).
 */
export const DEFAULT_TEMPLATE = "{% for m in messages %}{{ m.role }}: {{ m.content }}\n{% endfor %}{% if add_generation_prompt %}assistant:{% endif %}";

export interface ChatTemplate {
  /** Whether the template came from the model (false: the default). */
  fromModel: boolean;
  render(messages: ChatMessage[]): string;
}

/** A special token in tokenizer_config.json: a string, or an AddedToken object {content, ...}. */
function tokenText(v: unknown): string {
  if (typeof v === 'string') return v;
  if (v !== null && typeof v === 'object' && typeof (v as { content?: unknown }).content === 'string') return (v as { content: string }).content;
  return '';
}

/** The chat template of the model in dir (tokenizer_config.json), or the default. */
export function loadChatTemplate(dir: string): ChatTemplate {
  const file = join(dir, 'tokenizer_config.json');
  let config: Record<string, unknown> = {};
  if (existsSync(file)) {
    try {
      config = JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>;
    } catch (err) {
      throw new InputError(`tlm serve: ${file} is not valid JSON: ${(err as Error).message}`);
    }
  }
  // HF also allows a list of named templates; the one named 'default' is the chat one.
  let source = config.chat_template;
  if (Array.isArray(source)) source = (source.find((t: { name?: string }) => t.name === 'default') ?? source[0])?.template;
  const fromModel = typeof source === 'string' && source.length > 0;
  let template: Template;
  try {
    template = new Template(fromModel ? (source as string) : DEFAULT_TEMPLATE);
  } catch (err) {
    throw new InputError(`tlm serve: the chat_template in ${file} does not parse: ${(err as Error).message}`);
  }
  const specials = { bos_token: tokenText(config.bos_token), eos_token: tokenText(config.eos_token), unk_token: tokenText(config.unk_token), pad_token: tokenText(config.pad_token) };
  return {
    fromModel,
    render: (messages) => template.render({ messages, add_generation_prompt: true, ...specials }),
  };
}
