#!/usr/bin/python3
"""Writes the PyTorch reference fixtures for tlm's MarianMTModel: test/fixtures/marian/.

Run with Debian's python3-torch (apt-get install python3-torch python3-numpy):

    /usr/bin/python3 scripts/gen_marian_fixtures.py

HF Transformers is not installable here, so MarianMTModel is written below in plain functional torch
with the math of transformers' modeling_marian.py: token embeddings (padding_idx = pad, × √d_model
when scale_embedding) plus MarianSinusoidalPositionalEmbedding (sines in the first half of each row,
cosines in the second, not interleaved), post-norm layers (x = LayerNorm(x + sublayer(x))) with
separate q/k/v/out projections, q scaled by head_dim^-0.5 before q kᵀ, additive finfo(float32).min
masks (source padding; causal in the decoder), fc1 → activation → fc2, no final LayerNorm, and
logits = lm_head(h) + final_logits_bias. Labels become decoder inputs by shift_tokens_right (start =
decoder_start_token_id, -100 → pad); the loss is the mean cross-entropy over labels ≠ -100.

Each case is a tiny random model saved as an HF checkpoint directory (config.json +
model.safetensors, in one of HF's layouts: old files keep every tied name and the sinusoid tables,
newer ones drop both), and expected.safetensors holds, from a float64 run of the same float32
weights: the encoder output, the logits, the loss and the gradient of every parameter.
marian.json lists the cases, their inputs, and sinusoid tables (odd and even widths).
"""
import json
import math
import os
import struct

import numpy as np
import torch
import torch.nn.functional as F

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..')
OUT = os.path.join(ROOT, 'test', 'fixtures', 'marian')
F32_MIN = torch.finfo(torch.float32).min  # HF's additive mask value


def write_safetensors(path, tensors, metadata):
    """safetensors by hand (the python package is not in Debian): 8-byte header length, JSON, data."""
    header, chunks, offset = {'__metadata__': metadata}, [], 0
    for key in sorted(tensors):
        t = tensors[key].detach().to(torch.float32).contiguous()
        data = t.numpy().astype('<f4').tobytes()
        header[key] = {'dtype': 'F32', 'shape': list(t.shape), 'data_offsets': [offset, offset + len(data)]}
        chunks.append(data)
        offset += len(data)
    h = json.dumps(header, separators=(',', ':')).encode()
    h += b' ' * (-len(h) % 8)
    with open(path, 'wb') as f:
        f.write(struct.pack('<Q', len(h)) + h + b''.join(chunks))


def sinusoids(n_pos, dim):
    """MarianSinusoidalPositionalEmbedding._init_weight, step by step."""
    position_enc = np.array([[pos / np.power(10000, 2 * (j // 2) / dim) for j in range(dim)] for pos in range(n_pos)])
    out = torch.empty(n_pos, dim, dtype=torch.float32)
    sentinel = dim // 2 if dim % 2 == 0 else (dim // 2) + 1
    out[:, 0:sentinel] = torch.FloatTensor(np.sin(position_enc[:, 0::2]))
    out[:, sentinel:] = torch.FloatTensor(np.cos(position_enc[:, 1::2]))
    return out


ACT = {'swish': F.silu, 'gelu': F.gelu, 'relu': F.relu}


def attention(P, pre, x, kv_states, mask, heads):
    B, L, E = x.shape
    S = kv_states.shape[1]
    dh = E // heads
    lin = lambda n, t: F.linear(t, P[pre + n + '.weight'], P[pre + n + '.bias'])
    q = (lin('q_proj', x) * dh ** -0.5).view(B, L, heads, dh).transpose(1, 2)
    k = lin('k_proj', kv_states).view(B, S, heads, dh).transpose(1, 2)
    v = lin('v_proj', kv_states).view(B, S, heads, dh).transpose(1, 2)
    w = q @ k.transpose(2, 3)
    if mask is not None:
        w = w + mask
    ctx = (w.softmax(-1) @ v).transpose(1, 2).reshape(B, L, E)
    return lin('out_proj', ctx)


def layer_norm(P, name, x):
    return F.layer_norm(x, x.shape[-1:], P[name + '.weight'], P[name + '.bias'], 1e-5)


def ffn(P, pre, x, act):
    h = F.linear(act(F.linear(x, P[pre + 'fc1.weight'], P[pre + 'fc1.bias'])), P[pre + 'fc2.weight'], P[pre + 'fc2.bias'])
    return layer_norm(P, pre + 'final_layer_norm', x + h)


def padding_mask(mask, L):
    """[B, S] 1/0 → additive [B, 1, L, S] (HF's _prepare_4d_attention_mask)."""
    B, S = mask.shape
    inv = 1.0 - mask[:, None, None, :].to(torch.float64).expand(B, 1, L, S)
    return inv.masked_fill(inv.bool(), F32_MIN)


def marian(P, cfg, ids, mask, dec_ids):
    d, act = cfg['d_model'], ACT[cfg['activation_function']]
    scale = math.sqrt(d) if cfg['scale_embedding'] else 1.0
    pad = cfg['pad_token_id']
    # encoder
    S = ids.shape[1]
    x = F.embedding(ids, P['model.encoder.embed_tokens.weight'], padding_idx=pad) * scale + P['model.encoder.embed_positions.weight'][:S]
    m = padding_mask(mask, S)
    for i in range(cfg['encoder_layers']):
        pre = f'model.encoder.layers.{i}.'
        x = layer_norm(P, pre + 'self_attn_layer_norm', x + attention(P, pre + 'self_attn.', x, x, m, cfg['encoder_attention_heads']))
        x = ffn(P, pre, x, act)
    memory = x
    # decoder
    T = dec_ids.shape[1]
    y = F.embedding(dec_ids, P['model.decoder.embed_tokens.weight'], padding_idx=pad) * scale + P['model.decoder.embed_positions.weight'][:T]
    causal = torch.triu(torch.full((T, T), F32_MIN, dtype=torch.float64), diagonal=1)[None, None]
    cross = padding_mask(mask, T)
    for i in range(cfg['decoder_layers']):
        pre = f'model.decoder.layers.{i}.'
        h = cfg['decoder_attention_heads']
        y = layer_norm(P, pre + 'self_attn_layer_norm', y + attention(P, pre + 'self_attn.', y, y, causal, h))
        y = layer_norm(P, pre + 'encoder_attn_layer_norm', y + attention(P, pre + 'encoder_attn.', y, memory, cross, h))
        y = ffn(P, pre, y, act)
    logits = F.linear(y, P['lm_head.weight']) + P['final_logits_bias']
    return memory, logits


def shift_tokens_right(labels, pad, start):
    out = labels.new_zeros(labels.shape)
    out[:, 1:] = labels[:, :-1].clone()
    out[:, 0] = start
    return out.masked_fill(out == -100, pad)


def build(cfg, gen):
    """Random float32 weights under HF's names; tied names point at one tensor."""
    d, V, Vd = cfg['d_model'], cfg['vocab_size'], cfg['decoder_vocab_size']
    r = lambda *shape, std=0.3: (torch.randn(*shape, generator=gen) * std).float()
    W = {}
    if cfg['share_encoder_decoder_embeddings']:
        W['model.shared.weight'] = r(V, d, std=0.5)
        W['model.encoder.embed_tokens.weight'] = W['model.decoder.embed_tokens.weight'] = W['model.shared.weight']
    else:
        W['model.encoder.embed_tokens.weight'] = r(V, d, std=0.5)
        W['model.decoder.embed_tokens.weight'] = r(Vd, d, std=0.5)
    W['model.encoder.embed_positions.weight'] = sinusoids(cfg['max_position_embeddings'], d)
    W['model.decoder.embed_positions.weight'] = sinusoids(cfg['max_position_embeddings'], d)

    def attn(pre):
        for n in ('k_proj', 'v_proj', 'q_proj', 'out_proj'):
            W[pre + n + '.weight'] = r(d, d)
            W[pre + n + '.bias'] = r(d, std=0.1)

    def norm(name):
        W[name + '.weight'] = 1 + r(d, std=0.1)
        W[name + '.bias'] = r(d, std=0.1)

    for side, n_layers, ffn_dim in (('encoder', cfg['encoder_layers'], cfg['encoder_ffn_dim']), ('decoder', cfg['decoder_layers'], cfg['decoder_ffn_dim'])):
        for i in range(n_layers):
            pre = f'model.{side}.layers.{i}.'
            attn(pre + 'self_attn.')
            norm(pre + 'self_attn_layer_norm')
            if side == 'decoder':
                attn(pre + 'encoder_attn.')
                norm(pre + 'encoder_attn_layer_norm')
            W[pre + 'fc1.weight'], W[pre + 'fc1.bias'] = r(ffn_dim, d), r(ffn_dim, std=0.1)
            W[pre + 'fc2.weight'], W[pre + 'fc2.bias'] = r(d, ffn_dim), r(d, std=0.1)
            norm(pre + 'final_layer_norm')
    W['lm_head.weight'] = W['model.decoder.embed_tokens.weight'] if cfg['tie_word_embeddings'] else r(Vd, d, std=0.5)
    W['final_logits_bias'] = r(1, Vd, std=0.2) if cfg['_bias'] else torch.zeros(1, Vd)
    # The pad row of each embedding is zero, as HF initialises it.
    for k in ('model.shared.weight', 'model.encoder.embed_tokens.weight', 'model.decoder.embed_tokens.weight'):
        if k in W:
            W[k][cfg['pad_token_id']] = 0
    return W


def saved_keys(W, cfg, layout):
    """The names a checkpoint holds: 'old' (2020 conversions: every name, tables included), 'new' (tied names and tables dropped)."""
    keys = set(W)
    if layout == 'new':
        keys -= {'model.encoder.embed_positions.weight', 'model.decoder.embed_positions.weight'}
        if cfg['share_encoder_decoder_embeddings']:
            keys -= {'model.encoder.embed_tokens.weight', 'model.decoder.embed_tokens.weight'}
        if not cfg['_bias']:
            keys.discard('final_logits_bias')
    if cfg['tie_word_embeddings']:
        keys.discard('lm_head.weight')
    return sorted(keys)


BASE = dict(model_type='marian', architectures=['MarianMTModel'], vocab_size=24, d_model=16, encoder_layers=2, decoder_layers=2,
            encoder_attention_heads=4, decoder_attention_heads=4, encoder_ffn_dim=32, decoder_ffn_dim=32,
            max_position_embeddings=32, dropout=0.0, attention_dropout=0.0, activation_dropout=0.0,
            pad_token_id=23, eos_token_id=0, bos_token_id=0, decoder_start_token_id=23, forced_eos_token_id=0,
            is_encoder_decoder=True, normalize_before=False, normalize_embedding=False, static_position_embeddings=True)

CASES = [
    # The OPUS-MT shape: swish, shared and tied embeddings, scaled; an old-layout file with a final_logits_bias.
    dict(name='swish_shared', layout='old', cfg=dict(activation_function='swish', scale_embedding=True, share_encoder_decoder_embeddings=True,
                                                    tie_word_embeddings=True, _bias=True)),
    # Separate encoder/decoder tables and an untied head, gelu, no scaling; a new-layout file.
    dict(name='gelu_separate', layout='new', cfg=dict(activation_function='gelu', scale_embedding=False, share_encoder_decoder_embeddings=False,
                                                     tie_word_embeddings=False, _bias=False)),
    # Separate tables with the head tied to the decoder's, relu; new layout with a bias.
    dict(name='relu_tied_decoder', layout='new', cfg=dict(activation_function='relu', scale_embedding=True, share_encoder_decoder_embeddings=False,
                                                         tie_word_embeddings=True, _bias=True)),
]

# Two sources, right-padded (lengths 7 and 4), and their labels (lengths 6 and 3, -100 after).
INPUT_IDS = [[5, 9, 11, 3, 7, 21, 0], [8, 4, 12, 0, 23, 23, 23]]
ATTENTION_MASK = [[1, 1, 1, 1, 1, 1, 1], [1, 1, 1, 1, 0, 0, 0]]
LABELS = [[14, 2, 19, 6, 1, 0], [10, 17, 0, -100, -100, -100]]


def main():
    os.makedirs(OUT, exist_ok=True)
    gen = torch.Generator().manual_seed(20240611)
    meta = {'torch': torch.__version__, 'inputs': {'inputIds': INPUT_IDS, 'attentionMask': ATTENTION_MASK, 'labels': LABELS}, 'cases': [],
            'sinusoids': []}
    for c in CASES:
        cfg = {**BASE, **c['cfg']}
        cfg['decoder_vocab_size'] = cfg['vocab_size']
        W = build(cfg, gen)
        d = os.path.join(OUT, c['name'])
        os.makedirs(d, exist_ok=True)
        keys = saved_keys(W, cfg, c['layout'])
        write_safetensors(os.path.join(d, 'model.safetensors'), {k: W[k] for k in keys}, {'format': 'pt'})
        config = {k: v for k, v in cfg.items() if not k.startswith('_')}
        with open(os.path.join(d, 'config.json'), 'w') as f:
            json.dump(config, f, indent=2, sort_keys=True)
            f.write('\n')
        # float64 reference from the float32 weights; tied names share one leaf.
        leaves = {}
        P = {}
        for k, t in W.items():
            if id(t) not in leaves:
                leaves[id(t)] = (k, t.double().requires_grad_(k not in ('final_logits_bias',) and 'embed_positions' not in k))
            P[k] = leaves[id(t)][1]
        ids, mask, labels = torch.tensor(INPUT_IDS), torch.tensor(ATTENTION_MASK), torch.tensor(LABELS)
        dec = shift_tokens_right(labels, cfg['pad_token_id'], cfg['decoder_start_token_id'])
        memory, logits = marian(P, cfg, ids, mask, dec)
        loss = F.cross_entropy(logits.reshape(-1, cfg['decoder_vocab_size']), labels.reshape(-1), ignore_index=-100)
        loss.backward()
        expected = {'encoder_last_hidden_state': memory, 'logits': logits, 'loss': loss.reshape(1)}
        grads = []
        for k, t in leaves.values():
            if t.grad is not None:
                expected['grad.' + k] = t.grad
                grads.append(k)
        write_safetensors(os.path.join(d, 'expected.safetensors'), expected, {'format': 'pt'})
        meta['cases'].append({'name': c['name'], 'layout': c['layout'], 'keys': keys, 'grads': sorted(grads),
                              'decoderInputIds': dec.tolist(), 'loss': loss.item()})
    for n_pos, dim in ((6, 7), (40, 16), (512, 512)):
        t = sinusoids(n_pos, dim)
        rows = [0, 1, n_pos // 2, n_pos - 1]
        meta['sinusoids'].append({'numPositions': n_pos, 'dim': dim, 'rows': rows, 'values': [t[r].tolist() for r in rows]})
    with open(os.path.join(OUT, 'marian.json'), 'w') as f:
        json.dump(meta, f, indent=1)
        f.write('\n')


if __name__ == '__main__':
    main()
