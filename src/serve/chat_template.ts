// The server's view of a model's chat template: tokenizers/chat_template.ts renders it (as HF's
// apply_chat_template); a base model without a template gets DEFAULT_CHAT_TEMPLATE, a plain
// transcript that ends where the assistant's turn begins.

import { chatTemplateOf, compileChatTemplate, renderChatTemplate, specialTokenVariables, DEFAULT_CHAT_TEMPLATE, type Tokenizer } from '../tokenizers/index.js';
import { InputError } from '../errors.js';

// A type literal (not an interface), so that it fits the renderer's open-ended message type.
export type ChatMessage = { role: 'system' | 'user' | 'assistant' | 'tool'; content: string };

export interface ChatTemplate {
  /** Whether the template came from the model (false: the default). */
  fromModel: boolean;
  /** The prompt text, ending with the assistant's header (add_generation_prompt). */
  render(messages: ChatMessage[]): string;
}

/** The chat template of a loaded tokenizer (its tokenizer_config.json), or the default; parsed now. */
export function chatTemplateFor(tok: Tokenizer, dir: string): ChatTemplate {
  const fromModel = Boolean(tok.config?.chatTemplate);
  const source = fromModel ? chatTemplateOf(tok) : DEFAULT_CHAT_TEMPLATE;
  try {
    compileChatTemplate(source);
  } catch (err) {
    throw new InputError(`tlm serve: ${dir}/tokenizer_config.json: ${(err as Error).message}`);
  }
  const variables = specialTokenVariables(tok);
  return { fromModel, render: (messages) => renderChatTemplate(source, messages, { addGenerationPrompt: true }, variables) };
}
