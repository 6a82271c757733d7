import test from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { models, tokenizers } from '../src/index.js';
import { generateInWindows, type GenerationModel } from '../src/generate/index.js';

const dir = join(process.cwd(), 'test', 'fixtures', 'hf', 'gpt2-tiny');

test('generation past the context continues in windows over the latest tokens', async () => {
  const model = await models.fromPretrained(dir);
  const tok = await tokenizers.Tokenizer.fromPretrained(dir);
  const context = model.config.n_positions as number; // 128
  const prompt = tok.encode('ROMEO: what light through yonder window breaks').ids;
  let text = '';
  const fresh = await generateInWindows(model as unknown as GenerationModel, prompt, { maxNewTokens: 200, context, doSample: false }, tok, (s) => { text += s; });
  assert.equal(fresh.length, 200, 'all 200 tokens, past the 128-position context');
  // The first window is ordinary greedy generation from the prompt.
  const [plain] = await model.generate([prompt], { maxNewTokens: context / 2, doSample: false });
  assert.deepEqual(fresh.slice(0, context / 2), plain!.slice(prompt.length));
  assert.equal(text, tok.decode(fresh, { skipSpecialTokens: true }));
  // A later window sees only the latest tokens: its first token is greedy given that window.
  const all = [...prompt, ...fresh];
  const start = prompt.length + context / 2;
  const [next] = await model.generate([all.slice(start - context / 2, start)], { maxNewTokens: 1, doSample: false });
  assert.equal(fresh[context / 2], next![next!.length - 1]);
});
