// tlm serve ends a completion at the same tokens as `tlm chat` (pipelines/eos.ts): here a model
// whose end-of-sequence id is only in generation_config.json (config.json has none) stops there.

import test from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { manualSeed, models } from '../src/index.js';
import { Tokenizer } from '../src/tokenizers/index.js';
import { eosTokenIds } from '../src/pipelines/eos.js';
import { GPT2_DIR, call, serve, tempDir } from './helpers/serve.js';

test('a model whose eos_token_id is only in generation_config.json stops there under tlm serve', { timeout: 60_000 }, async () => {
  manualSeed(4);
  const dir = tempDir();
  const m = new models.GPT2LMHeadModel(models.gpt2Config({ vocab_size: 1000, n_positions: 64, n_embd: 32, n_layer: 2, n_head: 4, eos_token_id: null, bos_token_id: null }));
  await m.savePretrained(dir);
  copyFileSync(join(GPT2_DIR, 'tokenizer.json'), join(dir, 'tokenizer.json'));
  const prompt = [40, 41, 42];
  const gen = (await m.generate([prompt], { maxNewTokens: 10, doSample: false, eosTokenId: null }))[0]!.slice(prompt.length);
  // The EOS: the first generated token (after the first) not seen before it, so greedy decoding meets it there first.
  const k = Math.max(0, gen.findIndex((t, i) => i > 0 && !gen.slice(0, i).includes(t)));
  const eos = gen[k]!;
  writeFileSync(join(dir, 'generation_config.json'), JSON.stringify({ eos_token_id: eos }));

  const reloaded = await models.fromPretrained(dir);
  assert.deepEqual(eosTokenIds(reloaded, await Tokenizer.fromPretrained(dir)), [eos], 'generation_config.json is read');
  const server = await serve({ models: [{ name: 'm', dir }] });
  try {
    const r = await call(server.url, '/v1/completions', { model: 'm', prompt, max_tokens: 10, temperature: 0 });
    assert.equal(r.status, 200, JSON.stringify(r.body));
    const choice = (r.body.choices as { text: string; finish_reason: string }[])[0]!;
    assert.equal(choice.finish_reason, 'stop');
    assert.deepEqual(r.body.usage, { prompt_tokens: 3, completion_tokens: k + 1, total_tokens: 3 + k + 1 });
    const tok = await Tokenizer.fromPretrained(dir);
    assert.equal(choice.text, tok.decode(gen.slice(0, k), { skipSpecialTokens: true }));
  } finally {
    await server.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
