// Chat messages → one prompt, as HF's tokenizer.apply_chat_template: the chat_template of
// tokenizer_config.json is a Jinja template, rendered here with @huggingface/jinja, which does
// what HF's Jinja environment does (trim_blocks + lstrip_blocks, raise_exception, strftime_now).
// The template and the special tokens come from tok.config (Tokenizer.fromPretrained reads the
// file), so this module stays pure: the server, `tlm chat` and library users all render here.

import { Template } from '@huggingface/jinja';
import { InputError } from '../errors.js';
import type { Tokenizer } from './tokenizer.js';

/** One turn; extra fields (tool_calls, name, …) reach the template as they are. */
export interface ChatMessage { role: string; content: string; [field: string]: unknown }

/** A template refused the conversation (raise_exception), does not parse, or none is set. */
export class ChatTemplateError extends InputError {
  override name = 'ChatTemplateError';
}

export interface ChatTemplateOptions {
  /** End with the header that opens the assistant's turn (HF add_generation_prompt; default false). */
  addGenerationPrompt?: boolean;
  /** Leave the final message open, so the model continues it (HF continue_final_message). */
  continueFinalMessage?: boolean;
  /** A template string, or the name of one of tok.config.chatTemplates; default the tokenizer's. */
  chatTemplate?: string;
  /** Handed to the template as `tools` and `documents`, as HF. */
  tools?: unknown[];
  documents?: unknown[];
  /** Token ids (true, the default, as HF) or the rendered text (false). */
  tokenize?: boolean;
  /** More variables for the template (HF's **kwargs). */
  templateKwargs?: Record<string, unknown>;
}

/**
 * For a model without a template (a base model): "role: content" lines, then "assistant:" (no
 * trailing space: the model's first token usually carries its own leading space in byte-level BPE).
 * HF has no default any more; the server and `tlm chat` fall back to this one, and say so.
 */
export const DEFAULT_CHAT_TEMPLATE = "{% for m in messages %}{{ m.role }}: {{ m.content }}\n{% endfor %}{% if add_generation_prompt %}assistant:{% endif %}";

// Parsing a template costs more than rendering it; a chat renders the same one every turn.
const compiled = new Map<string, Template>();

/** The parsed template (cached), or a ChatTemplateError naming the parse problem. */
export function compileChatTemplate(source: string): Template {
  let t = compiled.get(source);
  if (t) return t;
  try {
    t = new Template(source);
  } catch (err) {
    throw new ChatTemplateError(`chat_template does not parse: ${oneLine(err)}`);
  }
  if (compiled.size >= 16) compiled.delete(compiled.keys().next().value!);
  compiled.set(source, t);
  return t;
}

const oneLine = (err: unknown): string => String((err as Error)?.message ?? err).replace(/\s*\n\s*/g, ' ');

/**
 * The template to render, chosen as HF's get_chat_template: an explicit template (or the name of
 * one of the tokenizer's), else with tools the one named "tool_use", else the default one.
 */
export function chatTemplateOf(tok: Pick<Tokenizer, 'config'>, opts: Pick<ChatTemplateOptions, 'chatTemplate' | 'tools'> = {}): string {
  const named = tok.config?.chatTemplates ?? {};
  if (opts.chatTemplate !== undefined) return named[opts.chatTemplate] ?? opts.chatTemplate;
  if (opts.tools !== undefined && named.tool_use !== undefined) return named.tool_use;
  const t = tok.config?.chatTemplate;
  if (t) return t;
  const names = Object.keys(named);
  throw new ChatTemplateError(names.length
    ? `the tokenizer has chat templates named ${names.join(', ')} but none named "default": pass chatTemplate (a name or a template)`
    : 'the tokenizer has no chat_template (tokenizer_config.json): pass chatTemplate');
}

/** HF's special_tokens_map as template variables: bos_token, eos_token, … (the ones that are set). */
export function specialTokenVariables(tok: Pick<Tokenizer, 'config'>): Record<string, unknown> {
  const c = tok.config;
  if (!c) return {};
  const text = (v: unknown): string | null => typeof v === 'string' ? v
    : v !== null && typeof v === 'object' && typeof (v as { content?: unknown }).content === 'string' ? (v as { content: string }).content : null;
  const out: Record<string, unknown> = {};
  for (const key of ['bos_token', 'eos_token', 'unk_token', 'sep_token', 'pad_token', 'cls_token', 'mask_token']) {
    const v = text(c.raw[key]);
    if (v !== null) out[key] = v;
  }
  const extra = c.raw.additional_special_tokens;
  if (Array.isArray(extra)) out.additional_special_tokens = extra.map(text).filter((t) => t !== null);
  return out;
}

function checkMessages(messages: readonly ChatMessage[]): void {
  if (!Array.isArray(messages)) throw new ChatTemplateError(`messages: expected a list of {role, content}, got ${typeof messages}`);
  messages.forEach((m, i) => {
    if (m === null || typeof m !== 'object' || typeof m.role !== 'string') throw new ChatTemplateError(`messages[${i}]: expected {role: string, content}, got ${JSON.stringify(m)?.slice(0, 60)}`);
  });
}

/**
 * Renders messages with a template source. Variables: messages, add_generation_prompt, tools,
 * documents, then `variables` (special tokens, kwargs). A template's raise_exception('…') becomes
 * a ChatTemplateError with that message.
 */
export function renderChatTemplate(source: string, messages: readonly ChatMessage[], opts: Omit<ChatTemplateOptions, 'tokenize' | 'chatTemplate'> = {},
  variables: Record<string, unknown> = {}): string {
  checkMessages(messages);
  if (opts.addGenerationPrompt && opts.continueFinalMessage) throw new ChatTemplateError('addGenerationPrompt and continueFinalMessage do not combine: the first opens a new assistant turn, the second continues the last message');
  const template = compileChatTemplate(source);
  let text: string;
  try {
    text = template.render({
      ...variables, ...opts.templateKwargs, messages, add_generation_prompt: opts.addGenerationPrompt ?? false,
      ...(opts.tools !== undefined ? { tools: opts.tools } : {}), ...(opts.documents !== undefined ? { documents: opts.documents } : {}),
    });
  } catch (err) {
    throw new ChatTemplateError(`chat_template: ${oneLine(err)}`);
  }
  return opts.continueFinalMessage ? cutAfterFinalMessage(text, messages) : text;
}

/** continueFinalMessage: the rendered text up to the end of the last message's content, as HF. */
function cutAfterFinalMessage(text: string, messages: readonly ChatMessage[]): string {
  const last = messages[messages.length - 1];
  if (last === undefined) throw new ChatTemplateError('continueFinalMessage needs at least one message');
  const content = String(last.content);
  for (const c of [content, content.trim()]) {
    const at = text.lastIndexOf(c);
    if (c.length > 0 && at >= 0) return text.slice(0, at + c.length);
  }
  throw new ChatTemplateError('continueFinalMessage: the last message\'s content does not appear in the rendered chat');
}

/**
 * HF's apply_chat_template: the conversation rendered with the tokenizer's chat template and its
 * special tokens, as token ids (the template writes BOS itself, so none are added) or, with
 * tokenize: false, as text.
 */
export function applyChatTemplate(tok: Tokenizer, messages: readonly ChatMessage[], opts: ChatTemplateOptions & { tokenize: false }): string;
export function applyChatTemplate(tok: Tokenizer, messages: readonly ChatMessage[], opts?: ChatTemplateOptions & { tokenize?: true }): number[];
export function applyChatTemplate(tok: Tokenizer, messages: readonly ChatMessage[], opts?: ChatTemplateOptions): string | number[];
export function applyChatTemplate(tok: Tokenizer, messages: readonly ChatMessage[], opts: ChatTemplateOptions = {}): string | number[] {
  const text = renderChatTemplate(chatTemplateOf(tok, opts), messages, opts, specialTokenVariables(tok));
  return opts.tokenize === false ? text : tok.encodeIds(text, { addSpecialTokens: false });
}
