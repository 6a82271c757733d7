// One home for the position choice: positionEmbedding() builds the embedding-side module of every
// position type, and GPT-2, BERT and the seq2seq Transformer each hold exactly what it builds.

import test from 'node:test';
import assert from 'node:assert/strict';
import { manualSeed, models, nn, noGrad, tensor } from '../src/index.js';
import { addPositions, positionConcatDim, positionEmbedding } from '../src/models/positions.js';

const TYPES: nn.PositionType[] = ['learned', 'absolute', 'sinusoidal', 'sinusoidal_concat', 'relative', 'rope', 'alibi', 'none'];

test('positionEmbedding: a learned table, a fixed sinusoid added or appended, or nothing (positions inside attention)', () => {
  const kinds = TYPES.map((t) => {
    const pe = positionEmbedding(t, { dim: 8, maxPositions: 16 });
    return pe === null ? 'null' : pe instanceof nn.LearnedPositionalEmbedding ? `learned ${pe.weight.shape.join('x')}` : `${pe.mode} ${pe.dim}`;
  });
  assert.deepEqual(kinds, ['learned 16x8', 'learned 16x8', 'add 8', 'concat 4', 'null', 'null', 'null', 'null']);
  assert.deepEqual(TYPES.map((t) => positionConcatDim(t, 8, null)), [0, 0, 0, 4, 0, 0, 0, 0]);
  assert.equal(positionConcatDim('sinusoidal_concat', 8, 2), 2);
  assert.throws(() => positionEmbedding('learnt', { dim: 8, maxPositions: 16 }), /unknown position_embedding_type 'learnt'/);
  // Positions at an offset are the rows from there on; given positionIds win over the offset.
  const pe = positionEmbedding('sinusoidal', { dim: 4, maxPositions: 8 })!;
  const x = tensor(new Float32Array(2 * 4), { shape: [1, 2, 4] });
  const at3 = noGrad(() => addPositions(pe, x, null, 3).dataSync());
  const ids = noGrad(() => addPositions(pe, x, tensor([[3, 4]], { dtype: 'int32' }), 0).dataSync());
  assert.deepEqual(at3, ids);
  assert.equal(addPositions(null, x, null, 3), x);
});

test('GPT-2, BERT and the seq2seq Transformer take their position modules from positionEmbedding', () => {
  manualSeed(0);
  for (const t of TYPES) {
    const want = positionEmbedding(t, { dim: 16, maxPositions: 32 });
    const describe = (m: unknown) => m === null ? 'null' : `${(m as object).constructor.name} ${JSON.stringify(Object.keys((m as nn.Module).stateDict()))}`;
    const gpt2 = new models.GPT2LMHeadModel({ vocab_size: 20, n_positions: 32, n_embd: 16, n_layer: 1, n_head: 2, position_embedding_type: t });
    const bert = new models.BertModel({ vocab_size: 20, max_position_embeddings: 32, hidden_size: 16, num_hidden_layers: 1, num_attention_heads: 2,
      intermediate_size: 32, position_embedding_type: t });
    const s2s = new models.Seq2SeqTransformer({ vocab_size: 20, max_position_embeddings: 32, d_model: 16, nhead: 2, num_encoder_layers: 1,
      num_decoder_layers: 1, dim_feedforward: 32, position_embedding_type: t });
    for (const got of [gpt2.transformer.wpe, bert.embeddings.position_embeddings, s2s.src_positions.positions, s2s.tgt_positions.positions]) {
      assert.equal(describe(got), describe(want), t);
    }
    // The token embeddings give up the width an appended encoding takes.
    assert.equal(gpt2.transformer.wte.embeddingDim, 16 - positionConcatDim(t, 16, null), t);
    for (const m of [gpt2, bert, s2s]) m.dispose();
    want?.dispose();
  }
});
