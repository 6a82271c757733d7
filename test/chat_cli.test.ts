// `tlm chat` and the ChatSession under it, on a tiny random Llama with the qwen2-tiny tokenizer and
// a ChatML template: each reply is the library's greedy continuation of the history rendered with
// the template; /reset forgets; replies stop at generation_config.json's EOS; an overlong history
// loses its oldest turns whole (system message kept) with a note; bad input gets one-line errors.

import test, { after, before } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { manualSeed } from '../src/index.js';
import { LlamaForCausalLM, fromPretrained } from '../src/models/index.js';
import { Tokenizer, applyChatTemplate, type ChatMessage } from '../src/tokenizers/index.js';
import { generate, type GenerationModel } from '../src/generate/index.js';
import { ChatSession, chatEosTokenIds } from '../src/pipelines/chat.js';

const bin = fileURLToPath(new URL('../src/cli/bin.js', import.meta.url));
const tlm = (args: string[], input?: string) => spawnSync(process.execPath, [bin, ...args], { encoding: 'utf8', timeout: 120_000, input });
const QWEN2_TINY = join(process.cwd(), 'test', 'fixtures', 'tokenizers', 'qwen2-tiny');
// Qwen2-Instruct's template (test/fixtures/chat_templates.json has it with jinja2's renderings).
const CHATML = "{% for message in messages %}{% if loop.first and messages[0]['role'] != 'system' %}{{ '<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n' }}{% endif %}{{'<|im_start|>' + message['role'] + '\n' + message['content'] + '<|im_end|>' + '\n'}}{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}";

const root = mkdtempSync(join(tmpdir(), 'tlm-chat-'));
const chatDir = join(root, 'chat'), smallDir = join(root, 'small');
let tok: Tokenizer;

/** A random Llama (GQA: 4 heads, 2 key/value heads) over the qwen2-tiny vocabulary, with a ChatML tokenizer_config.json. */
async function makeModel(dir: string, positions: number): Promise<void> {
  manualSeed(7);
  const model = new LlamaForCausalLM({ vocab_size: tok.vocabSize, hidden_size: 32, intermediate_size: 64, num_hidden_layers: 2,
    num_attention_heads: 4, num_key_value_heads: 2, max_position_embeddings: positions, bos_token_id: null, eos_token_id: null, initializer_range: 0.5 });
  await model.savePretrained(dir);
  copyFileSync(join(QWEN2_TINY, 'tokenizer.json'), join(dir, 'tokenizer.json'));
  writeFileSync(join(dir, 'tokenizer_config.json'), JSON.stringify({ eos_token: '<|im_end|>', pad_token: '<|endoftext|>', chat_template: CHATML }));
}

before(async () => {
  tok = await Tokenizer.fromPretrained(QWEN2_TINY);
  await makeModel(chatDir, 512);
  await makeModel(smallDir, 96);
});
after(() => rmSync(root, { recursive: true, force: true }));

/** The library's reply to a history: greedy, stopped at EOS, decoded without special tokens. */
async function reference(dir: string, messages: ChatMessage[], maxNew: number): Promise<string> {
  const model = await fromPretrained(dir) as unknown as GenerationModel;
  const t = await Tokenizer.fromPretrained(dir);
  const ids = applyChatTemplate(t, messages, { addGenerationPrompt: true });
  const out = (await generate(model, [ids], { maxNewTokens: maxNew, eosTokenId: chatEosTokenIds(model, t) }))[0]!.slice(ids.length);
  return t.decode(out, { skipSpecialTokens: true });
}

test('tlm chat from a pipe: replies continue the templated history; /reset forgets it', { timeout: 120_000 }, async () => {
  const r = tlm(['chat', '--model', chatDir, '--max-new-tokens', '6', '--system', 'Be brief.'], 'Hello there\nAnd then?\n/reset\nHello there\n');
  assert.equal(r.status, 0, r.stderr);
  const sys: ChatMessage = { role: 'system', content: 'Be brief.' };
  const a1 = await reference(chatDir, [sys, { role: 'user', content: 'Hello there' }], 6);
  const a2 = await reference(chatDir, [sys, { role: 'user', content: 'Hello there' }, { role: 'assistant', content: a1 }, { role: 'user', content: 'And then?' }], 6);
  assert.notEqual(a1, '');
  assert.notEqual(a1, a2, 'the second turn sees the first');
  assert.equal(r.stdout, `${a1}\n${a2}\n${a1}\n`, 'after /reset the same message gets the first reply again');
  assert.match(r.stderr, /\[conversation cleared\]/);
});

test('a reply stops at generation_config.json\'s eos_token_id', { timeout: 120_000 }, async () => {
  const dir = join(root, 'eos');
  await makeModel(dir, 512);
  const msgs: ChatMessage[] = [{ role: 'user', content: 'Hi' }];
  const t = await Tokenizer.fromPretrained(dir);
  const ids = applyChatTemplate(t, msgs, { addGenerationPrompt: true });
  const free = (await generate(await fromPretrained(dir) as unknown as GenerationModel, [ids], { maxNewTokens: 8, eosTokenId: null }))[0]!.slice(ids.length);
  // Make the third generated token the end of the turn: the reply is the first two.
  const eos = free[2]!;
  assert.ok(!free.slice(0, 2).includes(eos), 'the tiny model repeats itself early; pick another prompt');
  writeFileSync(join(dir, 'generation_config.json'), JSON.stringify({ eos_token_id: [eos] }));
  const r = tlm(['chat', '--model', dir, '--max-new-tokens', '8'], 'Hi\n');
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stdout, `${t.decode(free.slice(0, 2), { skipSpecialTokens: true })}\n`);
});

test('EOS ids: generation_config.json, config.json and the tokenizer_config.json eos_token together', async () => {
  const t = await Tokenizer.fromPretrained(QWEN2_TINY); // eos_token <|im_end|>
  const model = { config: { eos_token_id: 262 }, generationConfig: { eos_token_id: [5, 262] } } as unknown as GenerationModel;
  assert.deepEqual(chatEosTokenIds(model, t), [5, 262, t.tokenToId('<|im_end|>')]);
});

test('ChatSession: an overlong history loses its oldest turns whole, the system message stays, with a note', { timeout: 120_000 }, async () => {
  const model = await fromPretrained(smallDir) as unknown as GenerationModel;
  const t = await Tokenizer.fromPretrained(smallDir);
  const session = new ChatSession(model, t, 96, { system: 'S', maxNewTokens: 8 });
  const notes: string[] = [];
  const say = async (text: string): Promise<string> => {
    let reply = '';
    for await (const ev of session.send(text)) { if ('note' in ev) notes.push(ev.note); else reply += ev.text; }
    return reply;
  };
  const turns = ['one two three', 'four five six', 'seven eight nine', 'ten eleven twelve'];
  for (const text of turns) {
    const before = session.messages.slice();
    const reply = await say(text);
    // The reply is the library's greedy continuation of whatever history the session kept.
    const kept = session.messages.slice(0, -1);
    assert.equal(reply, await reference(smallDir, kept, 8));
    assert.ok(session.promptIds(kept).length <= 96 - 8);
    // Nothing kept was cut: the kept history is the system message and a suffix of whole turns.
    assert.deepEqual(kept[0], { role: 'system', content: 'S' });
    const tail = [...before, { role: 'user', content: text }].slice(-(kept.length - 1));
    assert.deepEqual(kept.slice(1), tail);
    assert.equal(kept[1]!.role, 'user', 'a kept history starts with a user message');
  }
  assert.ok(notes.length >= 1, 'the history outgrew 96 tokens');
  assert.match(notes[0]!, /^dropped the (oldest turn|\d+ oldest turns) to fit the model's context of 96 tokens \(8 kept for the reply\)$/);
  assert.ok(session.messages.length < 1 + 2 * turns.length);
  // A message that cannot fit even alone is refused; the history stays as it was.
  const kept = session.messages.slice();
  await assert.rejects(async () => { for await (const _ of session.send('x '.repeat(200))) { /* nothing */ } },
    /^InputError: chat: the message is too long: the prompt would be \d+ tokens, and the model's context of 96 tokens holds 88 besides the 8 kept for the reply$/);
  assert.deepEqual(session.messages, kept);
  session.reset();
  assert.deepEqual(session.messages, [{ role: 'system', content: 'S' }]);
});

test('tlm chat: a too-long message is a note and the chat goes on; /help and unknown commands; bad input exits 2', { timeout: 120_000 }, () => {
  const r = tlm(['chat', '--model', smallDir, '--max-new-tokens', '4'], `${'y '.repeat(200)}\n/help\n/what\nok\n/exit\nnever read\n`);
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stderr, /\[the message is too long: the prompt would be \d+ tokens/);
  assert.match(r.stderr, /\[commands: \/reset/);
  assert.match(r.stderr, /\[unknown command \/what/);
  assert.equal(r.stdout.split('\n').length, 2, 'one reply (to "ok"), nothing after /exit');

  const bert = tlm(['chat', '--model', join(process.cwd(), 'test', 'fixtures', 'hf', 'bert-tiny')], 'hi\n');
  assert.equal(bert.status, 2);
  assert.match(bert.stderr.trim(), /^tlm chat: .*bert-tiny is a BertForMaskedLM, which does not generate text/);
  assert.equal(bert.stderr.trim().split('\n').length, 1);
  const big = tlm(['chat', '--model', smallDir, '--max-new-tokens', '96'], 'hi\n');
  assert.equal(big.status, 2);
  assert.equal(big.stderr.trim(), "tlm chat: maxNewTokens (96) leaves no room for a prompt in the model's context of 96 tokens");
  const help = tlm(['chat', '--help']);
  assert.equal(help.status, 0);
  for (const flag of ['--model', '--system', '--max-new-tokens', '--temperature', '--top-p', '--seed']) assert.ok(help.stdout.includes(flag), flag);
  assert.match(tlm(['--help']).stdout, /\n {2}chat +chat with a model/);
});

test('tlm chat --seed: sampling is reproducible; a plain transcript for a model without a template', { timeout: 120_000 }, () => {
  const args = ['chat', '--model', chatDir, '--max-new-tokens', '6', '--temperature', '1.5', '--seed', '3'];
  const a = tlm(args, 'Hi\nMore\n'), b = tlm(args, 'Hi\nMore\n');
  assert.equal(a.status, 0, a.stderr);
  assert.equal(a.stdout, b.stdout);
  const plain = join(root, 'plain');
  spawnSync('cp', ['-r', chatDir, plain]);
  writeFileSync(join(plain, 'tokenizer_config.json'), JSON.stringify({ eos_token: '<|im_end|>' }));
  const r = tlm(['chat', '--model', plain, '--max-new-tokens', '4'], 'Hi\n');
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stderr, /has no chat_template in tokenizer_config.json: using a plain "role: content" transcript/);
  assert.equal(r.stdout.split('\n').length, 2);
});
