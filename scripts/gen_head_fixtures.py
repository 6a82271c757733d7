#!/usr/bin/python3
"""Writes the PyTorch reference fixtures for tlm's task heads: test/fixtures/heads/heads.{json,safetensors}.

Run with Debian's python3-torch (apt-get install python3-torch python3-numpy):

    /usr/bin/python3 scripts/gen_head_fixtures.py

HF Transformers is not installable here, so BERT and GPT-2 are written below in plain functional
torch with HF's math (BERT: post-norm, erf GELU, additive finfo.min padding mask; GPT-2: pre-norm,
gelu_new, Conv1D weights [in, out], causal + padding mask) and checked first against the outputs HF
itself saved beside the tiny checkpoints (expected_outputs / expected_logits). The encoders' weights
are those checkpoints (test/fixtures/hf/{bert-tiny,gpt2-tiny}/model.safetensors); each head's own
weights are drawn here (seeded) and saved, so that the test loads exactly the same numbers.

For each head (BERT sequence classification with cross-entropy and with one output / MSE, BERT QA
spans with out-of-range positions, BERT masked LM, GPT-2 sequence classification with right padding
and pad_token_id, GPT-2 causal LM): the logits (for LM heads, those at the labelled positions), the
loss, and the gradients of the head's weights, the pooler, an encoder-layer weight and the
embeddings. The reference runs in float64 from the float32 weights (as gen_layer_fixtures.py), so the
expected numbers carry no float32 rounding of their own. Dropout plays no part (p = 0 / eval).

Embedding gradients are [vocab, dim]: too big to store whole. The fixture keeps the rows of every
token in the batch, the padding row and a few unused rows, plus, for a tied LM head (whose gradient
reaches every row), the whole gradient projected on a random vector (G @ r, one number a row); for
untied heads every other row is zero, which the test asserts.
"""
import json
import math
import os
import struct

import numpy as np
import torch
import torch.nn.functional as F

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..')
HF = os.path.join(ROOT, 'test', 'fixtures', 'hf')
OUT = os.path.join(ROOT, 'test', 'fixtures', 'heads')
F32_MIN = torch.finfo(torch.float32).min  # HF's additive mask value


# --- safetensors, by hand (the python package is not in Debian): 8-byte header length, JSON, data.

def read_safetensors(path):
    with open(path, 'rb') as f:
        raw = f.read()
    n = struct.unpack('<Q', raw[:8])[0]
    header = json.loads(raw[8:8 + n])
    out = {}
    for key, e in header.items():
        if key == '__metadata__':
            continue
        assert e['dtype'] == 'F32', (path, key, e['dtype'])
        a, b = e['data_offsets']
        out[key] = torch.from_numpy(np.frombuffer(raw[8 + n + a:8 + n + b], dtype='<f4').reshape(e['shape']).copy())
    return out


def write_safetensors(path, tensors, metadata):
    header, chunks, offset = {'__metadata__': metadata}, [], 0
    for key in sorted(tensors):
        t = tensors[key].detach().to(torch.float32).contiguous()
        data = t.numpy().astype('<f4').tobytes()
        header[key] = {'dtype': 'F32', 'shape': list(t.shape), 'data_offsets': [offset, offset + len(data)]}
        chunks.append(data)
        offset += len(data)
    h = json.dumps(header, separators=(',', ':')).encode()
    h += b' ' * (-len(h) % 8)  # data starts 8-byte aligned, as the reference writer pads
    with open(path, 'wb') as f:
        f.write(struct.pack('<Q', len(h)) + h + b''.join(chunks))


# --- BERT (HF's BertModel and heads), functional.

def bert_encoder(P, cfg, ids, type_ids, mask):
    B, T = ids.shape
    H, nh, eps = cfg['hidden_size'], cfg['num_attention_heads'], cfg['layer_norm_eps']
    dh = H // nh
    e = 'bert.embeddings.'
    x = F.embedding(ids, P[e + 'word_embeddings.weight'], padding_idx=cfg['pad_token_id'])
    x = x + F.embedding(type_ids, P[e + 'token_type_embeddings.weight']) + P[e + 'position_embeddings.weight'][:T]
    x = F.layer_norm(x, (H,), P[e + 'LayerNorm.weight'], P[e + 'LayerNorm.bias'], eps)
    add_mask = (1.0 - mask[:, None, None, :].to(x.dtype)) * F32_MIN
    lin = lambda h, name: F.linear(h, P[name + '.weight'], P[name + '.bias'])
    heads = lambda t: t.view(B, T, nh, dh).transpose(1, 2)
    for i in range(cfg['num_hidden_layers']):
        p = f'bert.encoder.layer.{i}.'
        q, k, v = (heads(lin(x, p + 'attention.self.' + n)) for n in ('query', 'key', 'value'))
        probs = torch.softmax(q @ k.transpose(-1, -2) / math.sqrt(dh) + add_mask, -1)
        ctx = (probs @ v).transpose(1, 2).reshape(B, T, H)
        x = F.layer_norm(x + lin(ctx, p + 'attention.output.dense'), (H,),
                         P[p + 'attention.output.LayerNorm.weight'], P[p + 'attention.output.LayerNorm.bias'], eps)
        inner = F.gelu(lin(x, p + 'intermediate.dense'))  # hidden_act 'gelu': the erf form
        x = F.layer_norm(x + lin(inner, p + 'output.dense'), (H,), P[p + 'output.LayerNorm.weight'], P[p + 'output.LayerNorm.bias'], eps)
    return x


def bert_pooler(P, h):
    return torch.tanh(F.linear(h[:, 0], P['bert.pooler.dense.weight'], P['bert.pooler.dense.bias']))


def bert_mlm_logits(P, cfg, h):
    t = 'cls.predictions.transform.'
    h = F.gelu(F.linear(h, P[t + 'dense.weight'], P[t + 'dense.bias']))
    h = F.layer_norm(h, (cfg['hidden_size'],), P[t + 'LayerNorm.weight'], P[t + 'LayerNorm.bias'], cfg['layer_norm_eps'])
    # The decoder is tied to the word embeddings; its bias is cls.predictions.bias.
    return F.linear(h, P['bert.embeddings.word_embeddings.weight'], P['cls.predictions.bias'])


# --- GPT-2 (HF's GPT2Model and heads), functional.

def gpt2_body(P, cfg, ids, mask):
    B, T = ids.shape
    E, nh, eps = cfg['n_embd'], cfg['n_head'], cfg['layer_norm_epsilon']
    dh = E // nh
    x = F.embedding(ids, P['transformer.wte.weight']) + P['transformer.wpe.weight'][:T]
    allowed = torch.ones(T, T, dtype=torch.bool).tril()[None, None] & mask.bool()[:, None, None, :]
    conv = lambda h, name: h @ P[name + '.weight'] + P[name + '.bias']  # Conv1D: weight [in, out]
    ln = lambda h, name: F.layer_norm(h, (E,), P[name + '.weight'], P[name + '.bias'], eps)
    heads = lambda t: t.view(B, T, nh, dh).transpose(1, 2)
    for i in range(cfg['n_layer']):
        p = f'transformer.h.{i}.'
        q, k, v = (heads(t) for t in conv(ln(x, p + 'ln_1'), p + 'attn.c_attn').split(E, -1))
        scores = (q @ k.transpose(-1, -2) / math.sqrt(dh)).masked_fill(~allowed, F32_MIN)
        ctx = (torch.softmax(scores, -1) @ v).transpose(1, 2).reshape(B, T, E)
        x = x + conv(ctx, p + 'attn.c_proj')
        x = x + conv(F.gelu(conv(ln(x, p + 'ln_2'), p + 'mlp.c_fc'), approximate='tanh'), p + 'mlp.c_proj')  # gelu_new
    return ln(x, 'transformer.ln_f')


# --- the cases

def ids_tensor(rows):
    return torch.tensor(rows, dtype=torch.long)


def check_against_hf(bert_w, bert_cfg, gpt_w, gpt_cfg):
    """The reference models reproduce what HF saved beside the checkpoints (float32 HF vs float64 here)."""
    def rel(a, b):
        return ((a - b).abs() / b.abs().clamp_min(1e-2 * b.abs().max())).max().item()
    exp = json.load(open(os.path.join(HF, 'bert-tiny', 'expected.json')))
    out = read_safetensors(os.path.join(HF, 'bert-tiny', 'expected_outputs.safetensors'))
    P = {k: v.double() for k, v in bert_w.items()}
    ids, tt = ids_tensor([exp['pair_input_ids']]), ids_tensor([exp['pair_token_type_ids']])
    h = bert_encoder(P, bert_cfg, ids, tt, torch.ones_like(ids))
    e1, e2 = rel(h[0], out['last_hidden'].double()), rel(bert_mlm_logits(P, bert_cfg, h)[0], out['mlm_logits'].double())
    exp = json.load(open(os.path.join(HF, 'gpt2-tiny', 'expected.json')))
    logits_ref = read_safetensors(os.path.join(HF, 'gpt2-tiny', 'expected_logits.safetensors'))['logits'].double()
    P = {k: v.double() for k, v in gpt_w.items()}
    ids = ids_tensor([exp['logits_ids']])
    e3 = rel(gpt2_body(P, gpt_cfg, ids, torch.ones_like(ids))[0] @ P['transformer.wte.weight'].T, logits_ref)
    print(f'reference vs HF: bert hidden {e1:.2e}, mlm logits {e2:.2e}, gpt2 logits {e3:.2e}')
    assert max(e1, e2, e3) < 1e-4, 'the torch reference models do not match HF'


def main():
    torch.manual_seed(0)
    gen = torch.Generator().manual_seed(1234)
    randn = lambda *shape, std=1.0: (std * torch.randn(*shape, generator=gen)).to(torch.float32)
    bert_cfg = json.load(open(os.path.join(HF, 'bert-tiny', 'config.json')))
    gpt_cfg = json.load(open(os.path.join(HF, 'gpt2-tiny', 'config.json')))
    bert_w = read_safetensors(os.path.join(HF, 'bert-tiny', 'model.safetensors'))
    gpt_w = read_safetensors(os.path.join(HF, 'gpt2-tiny', 'model.safetensors'))
    check_against_hf(bert_w, bert_cfg, gpt_w, gpt_cfg)

    store, init_keys = {}, {}
    proj = {'bert': randn(bert_cfg['hidden_size']), 'gpt2': randn(gpt_cfg['n_embd'])}
    store['projection/bert'], store['projection/gpt2'] = proj['bert'], proj['gpt2']
    cases = []

    # BERT batch: a sentence pair without padding, two padded rows (pad id 0 = [PAD]).
    CLS, SEP, MASK, V = 2, 3, 4, bert_cfg['vocab_size']
    w = lambda n: torch.randint(5, V, (n,), generator=gen).tolist()
    a, b, c = w(6), w(2), w(5)
    bert_ids = [[CLS, *a[:3], SEP, *a[3:5], SEP], [CLS, *b, SEP, 0, 0, 0, 0], [CLS, *c, SEP, 0]]
    bert_types = [[0, 0, 0, 0, 0, 1, 1, 1], [0] * 8, [0] * 8]
    bert_mask = [[1] * 8, [1] * 4 + [0] * 4, [1] * 7 + [0]]
    T = 8
    pooler = {'bert.pooler.dense.weight': randn(64, 64, std=0.1), 'bert.pooler.dense.bias': randn(64, std=0.1)}
    bert_layer = 'bert.encoder.layer.0.attention.self.query.weight'

    def run(name, family, architecture, config, inputs, heads, weights, forward, grads, sparse, logits_at=None, from_pretrained=False, zero_grads=()):
        """forward(P) -> (outputs dict name -> tensor, loss); grads: dense parameters to store; sparse: embedding tables;
        zero_grads: parameters whose gradient is zero in exact arithmetic (float rounding only: no relative error to judge)."""
        P = {k: v.double().requires_grad_() for k, v in {**weights, **heads}.items()}
        outputs, loss = forward(P)
        loss.backward()
        rec = {'name': name, 'family': family, 'architecture': architecture, 'config': config, 'inputs': inputs,
               'init': {}, 'loss': loss.item(), 'outputs': {}, 'grads': grads, 'sparse': {},
               'zeroGrads': list(zero_grads), 'fromPretrained': from_pretrained}
        for k, t in heads.items():
            # Head weights shared by several cases (the pooler) are stored once.
            key = init_keys.setdefault(id(t), f'{name}/init/{k}')
            store[key] = t
            rec['init'][k] = key
        for k, t in outputs.items():
            store[f'{name}/out/{k}'] = t
            rec['outputs'][k] = list(t.shape)
        if logits_at is not None:
            rec['logitsAt'] = logits_at
        for k in grads:
            store[f'{name}/grad/{k}'] = P[k].grad
        for k in zero_grads:
            assert P[k].grad.abs().max().item() < 1e-12, f'{name}: {k} gradient is not zero'
        for k, (rows, tied) in sparse.items():
            g = P[k].grad
            rows = sorted(set(rows))
            store[f'{name}/rows/{k}'] = g[rows]
            if tied:
                store[f'{name}/proj/{k}'] = g @ proj[family].double()
            else:
                others = torch.ones(g.shape[0], dtype=torch.bool)
                others[rows] = False
                assert g[others].abs().max().item() == 0, f'{name}: {k} has gradient outside the stored rows'
            rec['sparse'][k] = {'rows': rows, 'tied': tied}
        cases.append(rec)
        print(f'{name}: loss {loss.item():.6f}')

    ids, tt, mask = ids_tensor(bert_ids), ids_tensor(bert_types), ids_tensor(bert_mask)
    word_rows = [r for row in bert_ids for r in row] + [0, 1, V - 1]  # batch tokens, [PAD] (no gradient), unused rows
    bert_sparse = {'bert.embeddings.word_embeddings.weight': (word_rows, False),
                   'bert.embeddings.position_embeddings.weight': (list(range(T + 2)), False)}
    bert_common = ['bert.embeddings.token_type_embeddings.weight', 'bert.embeddings.LayerNorm.weight', bert_layer]
    bert_inputs = {'inputIds': bert_ids, 'tokenTypeIds': bert_types, 'attentionMask': bert_mask}
    base_bert = {k: v for k, v in bert_w.items() if k.startswith('bert.')}

    # Sequence classification, 3 labels: cross-entropy.
    labels = [2, 0, 1]
    heads = {**pooler, 'classifier.weight': randn(3, 64, std=0.3), 'classifier.bias': randn(3, std=0.1)}
    def fwd_cls(P, loss_fn):
        logits = F.linear(bert_pooler(P, bert_encoder(P, bert_cfg, ids, tt, mask)), P['classifier.weight'], P['classifier.bias'])
        return {'logits': logits}, loss_fn(logits)
    run('bert_seqcls', 'bert', 'BertForSequenceClassification', {'num_labels': 3}, {**bert_inputs, 'labels': labels}, heads, base_bert,
        lambda P: fwd_cls(P, lambda lg: F.cross_entropy(lg, ids_tensor(labels))),
        ['classifier.weight', 'classifier.bias', 'bert.pooler.dense.weight', 'bert.pooler.dense.bias', *bert_common], bert_sparse)

    # Sequence classification, one output: regression, MSE (HF's problem_type inferred from num_labels == 1).
    targets = [0.5, -1.25, 2.0]
    heads = {**pooler, 'classifier.weight': randn(1, 64, std=0.3), 'classifier.bias': randn(1, std=0.1)}
    run('bert_regression', 'bert', 'BertForSequenceClassification', {'num_labels': 1}, {**bert_inputs, 'labels': targets}, heads, base_bert,
        lambda P: fwd_cls(P, lambda lg: F.mse_loss(lg.squeeze(-1), torch.tensor(targets, dtype=torch.float64))),
        ['classifier.weight', 'classifier.bias', 'bert.pooler.dense.bias', *bert_common], bert_sparse)

    # Question answering: start/end positions clamped to [0, T], T ignored (50 → T; -1 → 0, a real target; T itself ignored).
    # qa_outputs.bias gets no gradient: a bias shared by every position of a softmax shifts all its logits alike.
    starts, ends = [2, 50, -1], [4, 3, T]
    heads = {'qa_outputs.weight': randn(2, 64, std=0.3), 'qa_outputs.bias': randn(2, std=0.1)}
    def fwd_qa(P):
        logits = F.linear(bert_encoder(P, bert_cfg, ids, tt, mask), P['qa_outputs.weight'], P['qa_outputs.bias'])
        s, e = logits[..., 0], logits[..., 1]
        clamp = lambda p: ids_tensor(p).clamp(0, T)
        loss = (F.cross_entropy(s, clamp(starts), ignore_index=T) + F.cross_entropy(e, clamp(ends), ignore_index=T)) / 2
        return {'startLogits': s, 'endLogits': e}, loss
    run('bert_qa', 'bert', 'BertForQuestionAnswering', {}, {**bert_inputs, 'startPositions': starts, 'endPositions': ends}, heads, base_bert,
        fwd_qa, ['qa_outputs.weight', *bert_common], bert_sparse, zero_grads=['qa_outputs.bias'])

    # Masked LM: a few tokens replaced by [MASK], the others' labels -100; the decoder is tied to the word embeddings.
    masked = [(0, 2), (0, 6), (1, 1), (2, 4)]
    mlm_ids = [row[:] for row in bert_ids]
    mlm_labels = [[-100] * T for _ in bert_ids]
    for r, t in masked:
        mlm_labels[r][t], mlm_ids[r][t] = mlm_ids[r][t], MASK
    m_ids = ids_tensor(mlm_ids)
    def fwd_mlm(P):
        logits = bert_mlm_logits(P, bert_cfg, bert_encoder(P, bert_cfg, m_ids, tt, mask))
        loss = F.cross_entropy(logits.reshape(-1, V), ids_tensor(mlm_labels).reshape(-1), ignore_index=-100)
        return {'logits': logits[[r for r, _ in masked], [t for _, t in masked]]}, loss
    mlm_rows = [r for row in mlm_ids for r in row] + [0, 1, V - 1]
    run('bert_mlm', 'bert', 'BertForMaskedLM', {}, {'inputIds': mlm_ids, 'tokenTypeIds': bert_types, 'attentionMask': bert_mask, 'labels': mlm_labels},
        {}, bert_w, fwd_mlm,
        ['cls.predictions.bias', 'cls.predictions.transform.dense.weight', 'cls.predictions.transform.LayerNorm.weight', *bert_common],
        {'bert.embeddings.word_embeddings.weight': (mlm_rows, True)}, logits_at=masked, from_pretrained=True)

    # GPT-2 batch, right padded with pad_token_id 0 (also GPT-2's eos here). Row 1 holds a real 0 inside
    # its text: HF ≥ 4.47 takes the rightmost token that is not the pad id (index 4), not the first pad.
    GV, GT, PAD = gpt_cfg['vocab_size'], 7, 0
    g = lambda n: torch.randint(1, GV, (n,), generator=gen).tolist()
    a, b, c = g(7), g(4), g(3)
    gpt_ids = [a, [b[0], b[1], PAD, b[2], b[3], PAD, PAD], [*c, PAD, PAD, PAD, PAD]]
    gpt_mask = [[1] * 7, [1] * 5 + [0] * 2, [1] * 3 + [0] * 4]
    gids, gmask = ids_tensor(gpt_ids), ids_tensor(gpt_mask)
    last = [6, 4, 2]
    gpt_layer = 'transformer.h.0.attn.c_proj.weight'
    gpt_sparse_rows = [r for row in gpt_ids for r in row] + [1, GV - 1]
    base_gpt = dict(gpt_w)
    glabels = [1, 3, 0]
    heads = {'score.weight': randn(4, 64, std=0.3)}
    def fwd_gcls(P):
        all_logits = gpt2_body(P, gpt_cfg, gids, gmask) @ P['score.weight'].T
        non_pad = (gids != PAD).long() * torch.arange(GT)
        idx = non_pad.argmax(-1)
        assert idx.tolist() == last
        logits = all_logits[torch.arange(3), idx]
        return {'logits': logits}, F.cross_entropy(logits, ids_tensor(glabels))
    run('gpt2_seqcls', 'gpt2', 'GPT2ForSequenceClassification', {'num_labels': 4, 'pad_token_id': PAD},
        {'inputIds': gpt_ids, 'attentionMask': gpt_mask, 'labels': glabels}, heads, base_gpt, fwd_gcls,
        ['score.weight', gpt_layer, 'transformer.ln_f.weight', 'transformer.h.1.ln_2.bias'],
        {'transformer.wte.weight': (gpt_sparse_rows, False), 'transformer.wpe.weight': (list(range(GT + 2)), False)})

    # GPT-2 causal LM (tied head): labels are the ids with padding -100, shifted inside the model.
    lm_labels = [[t if m else -100 for t, m in zip(row, mrow)] for row, mrow in zip(gpt_ids, gpt_mask)]
    at = [(0, 0), (0, 5), (1, 3), (2, 1)]
    def fwd_lm(P):
        logits = gpt2_body(P, gpt_cfg, gids, gmask) @ P['transformer.wte.weight'].T
        loss = F.cross_entropy(logits[:, :-1].reshape(-1, GV), ids_tensor(lm_labels)[:, 1:].reshape(-1), ignore_index=-100)
        return {'logits': logits[[r for r, _ in at], [t for _, t in at]]}, loss
    run('gpt2_lm', 'gpt2', 'GPT2LMHeadModel', {}, {'inputIds': gpt_ids, 'attentionMask': gpt_mask, 'labels': lm_labels}, {}, base_gpt, fwd_lm,
        [gpt_layer, 'transformer.ln_f.weight', 'transformer.h.1.ln_2.bias'],
        {'transformer.wte.weight': (gpt_sparse_rows, True), 'transformer.wpe.weight': (list(range(GT + 2)), False)},
        logits_at=at, from_pretrained=True)

    os.makedirs(OUT, exist_ok=True)
    meta = {'generator': 'scripts/gen_head_fixtures.py', 'torch': torch.__version__}
    write_safetensors(os.path.join(OUT, 'heads.safetensors'), store, meta)
    with open(os.path.join(OUT, 'heads.json'), 'w') as f:
        json.dump({**meta, 'hf': {'bert': 'test/fixtures/hf/bert-tiny', 'gpt2': 'test/fixtures/hf/gpt2-tiny'}, 'cases': cases}, f, indent=1)
        f.write('\n')
    sizes = {n: os.path.getsize(os.path.join(OUT, n)) for n in ('heads.json', 'heads.safetensors')}
    print('wrote', sizes, 'total', sum(sizes.values()))


if __name__ == '__main__':
    main()
