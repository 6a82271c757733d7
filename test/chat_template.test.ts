// Chat templates rendered as HF's apply_chat_template renders them: real templates (Qwen2 ChatML,
// Llama 3, Zephyr, Llama 2, Mistral, a tool-calling one) against renderings made by Python's jinja2
// set up as HF sets it up (scripts/gen_chat_template_fixtures.py), template selection as HF's
// get_chat_template, continue_final_message, and one-line errors.

import test from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  Tokenizer, applyChatTemplate, parseTokenizerConfig, ChatTemplateError, DEFAULT_CHAT_TEMPLATE, type ChatMessage,
} from '../src/tokenizers/index.js';
import { chatTemplateFor } from '../src/serve/chat_template.js';

const QWEN2_TINY = join(process.cwd(), 'test', 'fixtures', 'tokenizers', 'qwen2-tiny');

interface Case {
  name: string; template: string; specials: Record<string, string>; messages: ChatMessage[];
  add_generation_prompt: boolean; tools?: unknown[]; expected?: string; error?: string;
}
const cases = (JSON.parse(readFileSync(join(process.cwd(), 'test', 'fixtures', 'chat_templates.json'), 'utf8')) as { cases: Case[] }).cases;

/** The qwen2-tiny tokenizer, with a tokenizer_config.json made of these fields. */
async function tokenizerWith(config: Record<string, unknown>): Promise<Tokenizer> {
  const tok = await Tokenizer.fromPretrained(QWEN2_TINY);
  tok.config = parseTokenizerConfig(config);
  return tok;
}

test('real chat templates render as jinja2 renders them for HF apply_chat_template', async () => {
  assert.ok(cases.length >= 12);
  for (const c of cases.filter((x) => x.expected !== undefined)) {
    const tok = await tokenizerWith({ chat_template: c.template, ...c.specials });
    const text = applyChatTemplate(tok, c.messages, { tokenize: false, addGenerationPrompt: c.add_generation_prompt, ...(c.tools ? { tools: c.tools } : {}) });
    assert.equal(text, c.expected, c.name);
  }
});

test('raise_exception in a template is a one-line ChatTemplateError with the template\'s message', async () => {
  const refusing = cases.filter((x) => x.error !== undefined);
  assert.equal(refusing.length, 3);
  for (const c of refusing) {
    const tok = await tokenizerWith({ chat_template: c.template, ...c.specials });
    assert.throws(() => applyChatTemplate(tok, c.messages, { addGenerationPrompt: c.add_generation_prompt }), (err: Error) => {
      assert.ok(err instanceof ChatTemplateError, c.name);
      assert.equal(err.message, `chat_template: ${c.error}`);
      return true;
    });
  }
});

test('tokenize (the default, as HF) encodes without adding special tokens; special tokens stay single ids', async () => {
  const chatml = cases.find((c) => c.name.startsWith('qwen2 chatml, default'))!;
  const tok = await tokenizerWith({ chat_template: chatml.template });
  const ids = applyChatTemplate(tok, chatml.messages, { addGenerationPrompt: true });
  const text = tok.applyChatTemplate(chatml.messages, { tokenize: false, addGenerationPrompt: true });
  assert.deepEqual(ids, tok.encodeIds(text, { addSpecialTokens: false }));
  assert.deepEqual(tok.applyChatTemplate(chatml.messages, { addGenerationPrompt: true }), ids, 'the Tokenizer method is the same function');
  const imStart = tok.tokenToId('<|im_start|>')!, imEnd = tok.tokenToId('<|im_end|>')!;
  assert.equal(ids[0], imStart);
  assert.equal(ids.filter((t) => t === imStart).length, 5, 'system, 3 turns, the generation prompt');
  assert.equal(ids.filter((t) => t === imEnd).length, 4);
  assert.equal(tok.decode(ids), text);
});

test('template choice as HF: default, tool_use when tools are given, by name, a template string; none is an error', async () => {
  const tok = await Tokenizer.fromPretrained(QWEN2_TINY); // named templates "default" and "tool_use"
  const msgs: ChatMessage[] = [{ role: 'user', content: 'hi' }];
  assert.equal(applyChatTemplate(tok, msgs, { tokenize: false }), '<|im_start|>user\nhi<|im_end|>\n');
  assert.equal(applyChatTemplate(tok, msgs, { tokenize: false, tools: ['t1'] }), '["t1"]', 'the tool_use template, with tools');
  assert.equal(applyChatTemplate(tok, msgs, { tokenize: false, chatTemplate: 'tool_use', tools: [] }), '[]');
  assert.equal(applyChatTemplate(tok, msgs, { tokenize: false, chatTemplate: '{{ messages[0].content | upper }}{{ extra }}', templateKwargs: { extra: '!' } }), 'HI!');
  tok.config = parseTokenizerConfig({ chat_template: [{ name: 'tool_use', template: 'x' }] });
  assert.throws(() => applyChatTemplate(tok, msgs), /chat templates named tool_use but none named "default"/);
  tok.config = null;
  assert.throws(() => applyChatTemplate(tok, msgs), /^ChatTemplateError: the tokenizer has no chat_template \(tokenizer_config.json\): pass chatTemplate$/);
  assert.equal(applyChatTemplate(tok, msgs, { tokenize: false, chatTemplate: DEFAULT_CHAT_TEMPLATE, addGenerationPrompt: true }), 'user: hi\nassistant:');
});

test('continueFinalMessage leaves the last message open; it does not combine with addGenerationPrompt', async () => {
  const chatml = cases.find((c) => c.name.startsWith('qwen2 chatml, default'))!;
  const tok = await tokenizerWith({ chat_template: chatml.template });
  const msgs: ChatMessage[] = [{ role: 'user', content: 'Count:' }, { role: 'assistant', content: '1, 2,' }];
  const full = applyChatTemplate(tok, msgs, { tokenize: false });
  assert.ok(full.endsWith('1, 2,<|im_end|>\n'));
  assert.equal(applyChatTemplate(tok, msgs, { tokenize: false, continueFinalMessage: true }), full.slice(0, -'<|im_end|>\n'.length));
  assert.throws(() => applyChatTemplate(tok, msgs, { continueFinalMessage: true, addGenerationPrompt: true }), /addGenerationPrompt and continueFinalMessage do not combine/);
});

test('bad templates and messages give one-line errors naming the problem', async () => {
  const tok = await tokenizerWith({ chat_template: '{% for m in messages %}{{ m.content }' });
  assert.throws(() => applyChatTemplate(tok, [{ role: 'user', content: 'x' }]), (err: Error) => err instanceof ChatTemplateError && /^chat_template does not parse: /.test(err.message) && !err.message.includes('\n'));
  const ok = await tokenizerWith({ chat_template: '{{ messages | length }}' });
  assert.throws(() => applyChatTemplate(ok, [{ content: 'x' } as unknown as ChatMessage]), /^ChatTemplateError: messages\[0\]: expected \{role: string, content\}/);
});

test('the server\'s adapter: the model\'s template with the generation prompt, else the default', async () => {
  const zephyr = cases.find((c) => c.name.startsWith('zephyr, the HF guide'))!;
  const served = chatTemplateFor(await tokenizerWith({ chat_template: zephyr.template, ...zephyr.specials }), 'dir');
  assert.equal(served.fromModel, true);
  assert.equal(served.render(zephyr.messages as never), zephyr.expected);
  const plain = chatTemplateFor(await tokenizerWith({}), 'dir');
  assert.equal(plain.fromModel, false);
  assert.equal(plain.render([{ role: 'user', content: 'hi' }]), 'user: hi\nassistant:');
  await assert.rejects(async () => chatTemplateFor(await tokenizerWith({ chat_template: '{% if %}' }), 'm'), /^InputError: tlm serve: m\/tokenizer_config.json: chat_template does not parse/);
});
