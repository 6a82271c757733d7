// A tiny MarianMTModel learns to reverse 5-token sequences (10 content tokens) with AdamW, from
// labels alone (the model shifts them into decoder inputs), and beam search then decodes unseen
// sequences exactly: training, the loss, the cache and batched beam search working together.
import test from 'node:test';
import assert from 'node:assert/strict';
import { Generator, manualSeed, models, noGrad, tidy } from '../src/index.js';
import { AdamW, clipGradNorm } from '../src/train/optim.js';
import { liveTensors } from './helpers/live.js';

const EOS = 0, PAD = 11, LEN = 5;
const content = (g: Generator) => Array.from({ length: LEN }, () => g.int(1, 11));

test('Marian learns to reverse a sequence; beam search decodes held-out ones exactly', async () => {
  manualSeed(7);
  const model = new models.MarianMTModel({
    vocab_size: 12, d_model: 32, encoder_layers: 2, decoder_layers: 2, encoder_attention_heads: 4, decoder_attention_heads: 4,
    encoder_ffn_dim: 64, decoder_ffn_dim: 64, max_position_embeddings: 16, activation_function: 'swish', scale_embedding: true,
    dropout: 0, pad_token_id: PAD, eos_token_id: EOS, decoder_start_token_id: PAD, init_std: 0.1,
  });
  model.train();
  const opt = new AdamW(model.parameters(), { lr: 3e-3, weightDecay: 0.01 });
  const data = new Generator(1);
  let loss = Infinity;
  const steps = 300;
  for (let step = 0; step < steps; step++) {
    const src = Array.from({ length: 32 }, () => content(data));
    // Sources end in EOS (as Marian's tokenizer writes them); targets are the reversal, then EOS.
    loss = tidy(() => {
      const l = model.forward({ inputIds: src.map((s) => [...s, EOS]), labels: src.map((s) => [...s].reverse().concat(EOS)) }).loss!;
      l.backward();
      return l.item();
    });
    clipGradNorm(model.parameters(), 1).dispose();
    opt.step();
    model.zeroGrad();
  }
  assert.ok(loss < 0.05, `final training loss ${loss}`);

  model.eval();
  const held = new Generator(99);
  const tests = Array.from({ length: 8 }, () => content(held));
  const before = liveTensors();
  const out = await model.generate(tests.map((s) => [...s, EOS]), { numBeams: 3, maxNewTokensOverSource: 2 });
  assert.equal(liveTensors(), before, 'generation frees what it allocates');
  out.forEach((seq, i) => assert.deepEqual(seq, [PAD, ...[...tests[i]!].reverse(), EOS], `source ${tests[i]!.join(' ')}`));
  // The teacher-forced loss on the held-out set is near zero too.
  const heldLoss = noGrad(() => tidy(() => model.forward({ inputIds: tests.map((s) => [...s, EOS]), labels: tests.map((s) => [...s].reverse().concat(EOS)) }).loss!.item()));
  assert.ok(heldLoss < 0.1, `held-out loss ${heldLoss}`);
});
