#!/usr/bin/python3
"""Writes the PyTorch reference fixtures for tlm's nn layers: test/fixtures/layers/*.json.

Run with Debian's python3-torch (apt-get install python3-torch):

    /usr/bin/python3 scripts/gen_layer_fixtures.py

For each case: the module's options (tlm's camelCase names), its state dict, the inputs and masks,
the forward outputs, and the gradients of every input and parameter for the loss
sum(output * grad_output) (+ sum(weights * grad_weights) where attention weights are returned).
Parameters and inputs are float32; the reference is computed in float64 from those same values, so
the expected numbers carry no float32 rounding of their own. Dropout is 0 and the modules are in
train mode (torch's slow, reference path). Masks follow torch.nn: bool True = not allowed / padding.
"""
import json
import math
import os

import torch
from torch import nn

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'test', 'fixtures', 'layers')


def enc(t):
    t = t.detach()
    if t.dtype == torch.bool:
        return {'shape': list(t.shape), 'dtype': 'bool', 'data': [int(v) for v in t.flatten().tolist()]}
    if not t.is_floating_point():
        return {'shape': list(t.shape), 'dtype': 'int32', 'data': [int(v) for v in t.flatten().tolist()]}
    vals = t.to(torch.float32).flatten().tolist()
    # 9 significant digits round-trip float32 exactly; ±inf as strings (JSON has no infinity).
    data = [v if math.isfinite(v) else ('inf' if v > 0 else '-inf') for v in (float('%.9g' % v) if math.isfinite(v) else v for v in vals)]
    return {'shape': list(t.shape), 'dtype': 'float32', 'data': data}


def perturb(module, gen):
    """Non-trivial biases and LayerNorm parameters (torch inits them to 0 and 1)."""
    with torch.no_grad():
        for name, p in module.named_parameters():
            if p.dim() == 1 or 'bias' in name:
                p.add_(0.1 * torch.randn(p.shape, generator=gen))


def run_case(name, module, options, inputs, masks, call, forward_opts, gen, shared=None):
    """inputs: name -> float32 tensor; masks: name -> tensor; call(module, inputs, masks) -> (out, weights|None)."""
    perturb(module, gen)
    module.train()
    state = {k: v.detach().clone() for k, v in module.state_dict().items()}
    m64 = module.double()
    x64 = {k: v.detach().double().requires_grad_(True) for k, v in inputs.items()}
    mk64 = {k: (v.double() if v.is_floating_point() else v) for k, v in masks.items()}
    out, weights = call(m64, x64, mk64)
    after = {k: v.detach().clone() for k, v in m64.state_dict().items()}
    g_out = torch.randn(out.shape, generator=gen)
    loss = (out * g_out.double()).sum()
    case = {'name': name, 'options': options, 'forward': forward_opts,
            'inputs': {k: enc(v) for k, v in inputs.items()}, 'masks': {k: enc(v) for k, v in masks.items()},
            'state': {k: enc(v) for k, v in state.items()},
            'outputs': {'output': enc(out)}, 'gradOutputs': {'output': enc(g_out)}}
    if shared:
        case['shared'] = shared
    changed = {k: enc(v) for k, v in after.items() if not torch.equal(v.to(state[k].dtype), state[k])}
    if changed:
        case['stateAfter'] = changed  # buffers the forward updated (BatchNorm running statistics)
    if weights is not None:
        g_w = torch.randn(weights.shape, generator=gen)
        loss = loss + (weights * g_w.double()).sum()
        case['outputs']['weights'] = enc(weights)
        case['gradOutputs']['weights'] = enc(g_w)
    loss.backward()
    case['grads'] = {'input.' + k: enc(v.grad) for k, v in x64.items()}
    for k, p in m64.named_parameters():
        case['grads']['param.' + k] = enc(p.grad)
    return case


def randn(gen, *shape):
    return torch.randn(*shape, generator=gen)


def causal_bool(n):
    return torch.triu(torch.ones(n, n, dtype=torch.bool), diagonal=1)


def basic_cases(gen):
    cases = []
    N, L, d = 3, 4, 6

    def call1(m, x, mk):
        return m(x['input'] if 'input' in x else mk['ids']), None
    torch.manual_seed(40)
    cases.append(run_case('linear', nn.Linear(d, 5), {'kind': 'Linear', 'inFeatures': d, 'outFeatures': 5},
                          {'input': randn(gen, N, L, d)}, {}, call1, {}, gen))
    torch.manual_seed(41)
    cases.append(run_case('linear_nobias', nn.Linear(d, 5, bias=False), {'kind': 'Linear', 'inFeatures': d, 'outFeatures': 5, 'bias': False},
                          {'input': randn(gen, 7, d)}, {}, call1, {}, gen))
    torch.manual_seed(42)
    ids = torch.tensor([[1, 0, 3, 3], [4, 2, 0, 1]])
    cases.append(run_case('embedding_padding', nn.Embedding(5, d, padding_idx=0), {'kind': 'Embedding', 'numEmbeddings': 5, 'embeddingDim': d, 'paddingIdx': 0},
                          {}, {'ids': ids}, call1, {}, gen))
    torch.manual_seed(43)
    cases.append(run_case('layernorm', nn.LayerNorm(d, eps=1e-6), {'kind': 'LayerNorm', 'normalizedShape': [d], 'eps': 1e-6},
                          {'input': 3 * randn(gen, N, L, d) + 1}, {}, call1, {}, gen))
    torch.manual_seed(44)
    cases.append(run_case('layernorm_2d_shape', nn.LayerNorm([L, d]), {'kind': 'LayerNorm', 'normalizedShape': [L, d]},
                          {'input': randn(gen, N, L, d)}, {}, call1, {}, gen))
    torch.manual_seed(45)
    cases.append(run_case('batchnorm1d_2d', nn.BatchNorm1d(d), {'kind': 'BatchNorm1d', 'numFeatures': d},
                          {'input': 2 * randn(gen, 8, d) + 0.5}, {}, call1, {}, gen))
    torch.manual_seed(46)
    cases.append(run_case('batchnorm1d_3d_momentum', nn.BatchNorm1d(d, momentum=0.3), {'kind': 'BatchNorm1d', 'numFeatures': d, 'momentum': 0.3},
                          {'input': randn(gen, N, d, L)}, {}, call1, {}, gen))
    return cases


def mha_cases(gen):
    cases = []
    E, H, L, S, N = 8, 2, 5, 6, 2

    def mha_call(self_attn, need_weights=True, average=True, mask_names=('attn_mask', 'key_padding_mask')):
        def call(m, x, mk):
            q = x['query']
            k = q if self_attn else x['key']
            v = k if self_attn or 'value' not in x else x['value']
            out, w = m(q, k, v, need_weights=need_weights, average_attn_weights=average,
                       attn_mask=mk.get('attnMask'), key_padding_mask=mk.get('keyPaddingMask'))
            return out, w
        return call

    # 1. self-attention, batch first, no masks, averaged weights
    torch.manual_seed(1)
    m = nn.MultiheadAttention(E, H, batch_first=True)
    cases.append(run_case('self_nomask_batchfirst', m, {'embedDim': E, 'numHeads': H, 'batchFirst': True},
                          {'query': randn(gen, N, L, E)}, {}, mha_call(True), {'needWeights': True, 'averageAttnWeights': True}, gen,
                          shared='qkv'))
    # 2. self-attention, seq first, causal bool mask + bool key padding, per-head weights
    torch.manual_seed(2)
    m = nn.MultiheadAttention(E, H)
    kpm = torch.zeros(N, L, dtype=torch.bool); kpm[1, -2:] = True
    cases.append(run_case('self_boolmask_kpm_perhead', m, {'embedDim': E, 'numHeads': H},
                          {'query': randn(gen, L, N, E)}, {'attnMask': causal_bool(L), 'keyPaddingMask': kpm},
                          mha_call(True, average=False), {'needWeights': True, 'averageAttnWeights': False}, gen, shared='qkv'))
    # 3. cross-attention (key is value), float additive mask [L, S], bool padding, batch first
    torch.manual_seed(3)
    m = nn.MultiheadAttention(E, H, batch_first=True)
    kpm = torch.zeros(N, S, dtype=torch.bool); kpm[0, -1] = True; kpm[1, -3:] = True
    fmask = 0.5 * randn(gen, L, S)
    cases.append(run_case('cross_floatmask_kpm', m, {'embedDim': E, 'numHeads': H, 'batchFirst': True},
                          {'query': randn(gen, N, L, E), 'key': randn(gen, N, S, E)}, {'attnMask': fmask, 'keyPaddingMask': kpm},
                          mha_call(False), {'needWeights': True, 'averageAttnWeights': True}, gen, shared='kv'))
    # 4. separate q/k/v, kdim and vdim differ (q/k/v_proj_weight), 3-D bool mask, no weights
    torch.manual_seed(4)
    m = nn.MultiheadAttention(E, H, kdim=6, vdim=3, batch_first=True)
    m3 = torch.rand(N * H, L, S, generator=gen) < 0.3
    m3[:, :, 0] = False  # every query keeps a key
    cases.append(run_case('kdim_vdim_3dmask_noweights', m, {'embedDim': E, 'numHeads': H, 'kdim': 6, 'vdim': 3, 'batchFirst': True},
                          {'query': randn(gen, N, L, E), 'key': randn(gen, N, S, 6), 'value': randn(gen, N, S, 3)},
                          {'attnMask': m3}, mha_call(False, need_weights=False), {'needWeights': False}, gen))
    # 5. no bias, bias_k/bias_v and a zero-attention column, with padding
    torch.manual_seed(5)
    m = nn.MultiheadAttention(E, H, bias=False, add_bias_kv=True, add_zero_attn=True)
    kpm = torch.zeros(N, S, dtype=torch.bool); kpm[1, -2:] = True
    cases.append(run_case('biaskv_zeroattn_nobias', m, {'embedDim': E, 'numHeads': H, 'bias': False, 'addBiasKv': True, 'addZeroAttn': True},
                          {'query': randn(gen, L, N, E), 'key': randn(gen, S, N, E), 'value': randn(gen, S, N, E)},
                          {'keyPaddingMask': kpm}, mha_call(False), {'needWeights': True, 'averageAttnWeights': True}, gen))
    # 6. causal self-attention through the float square-subsequent mask (tlm also checks isCausal against it)
    torch.manual_seed(6)
    m = nn.MultiheadAttention(E, H, batch_first=True)
    cases.append(run_case('self_causal_float', m, {'embedDim': E, 'numHeads': H, 'batchFirst': True},
                          {'query': randn(gen, N, L, E)}, {'attnMask': nn.Transformer.generate_square_subsequent_mask(L)},
                          mha_call(True), {'needWeights': True, 'averageAttnWeights': True, 'causal': True}, gen, shared='qkv'))
    # 7. unbatched [L, E]
    torch.manual_seed(7)
    m = nn.MultiheadAttention(E, H)
    cases.append(run_case('unbatched', m, {'embedDim': E, 'numHeads': H},
                          {'query': randn(gen, L, E), 'key': randn(gen, S, E), 'value': randn(gen, S, E)}, {},
                          mha_call(False), {'needWeights': True, 'averageAttnWeights': True}, gen))
    return cases


def encoder_layer_cases(gen):
    cases = []
    d, h, ff, L, N = 8, 2, 16, 5, 2
    kpm = torch.zeros(N, L, dtype=torch.bool); kpm[1, -2:] = True
    variants = [
        ('post_relu_kpm', dict(norm_first=False, activation='relu'), {'srcKeyPaddingMask': kpm}, False),
        ('pre_gelu_causal', dict(norm_first=True, activation='gelu'), {'srcMask': causal_bool(L)}, False),
        ('post_gelu_causal_kpm_batchfirst', dict(norm_first=False, activation='gelu', batch_first=True, layer_norm_eps=1e-6),
         {'srcMask': nn.Transformer.generate_square_subsequent_mask(L), 'srcKeyPaddingMask': kpm}, True),
        ('pre_relu_nomask_batchfirst', dict(norm_first=True, activation='relu', batch_first=True), {}, True),
    ]
    for i, (name, kw, masks, bf) in enumerate(variants):
        torch.manual_seed(10 + i)
        layer = nn.TransformerEncoderLayer(d, h, ff, dropout=0.0, **kw)
        x = randn(gen, N, L, d) if bf else randn(gen, L, N, d)
        opts = {'dModel': d, 'nhead': h, 'dimFeedforward': ff, 'dropout': 0, 'activation': kw['activation'],
                'normFirst': kw['norm_first'], 'batchFirst': kw.get('batch_first', False), 'layerNormEps': kw.get('layer_norm_eps', 1e-5)}

        def call(m, x, mk):
            return m(x['src'], src_mask=mk.get('srcMask'), src_key_padding_mask=mk.get('srcKeyPaddingMask')), None
        cases.append(run_case(name, layer, opts, {'src': x}, masks, call, {'causal': 'srcMask' in masks}, gen))
    return cases


def decoder_layer_cases(gen):
    cases = []
    d, h, ff, T, S, N = 8, 2, 16, 4, 6, 2
    tkpm = torch.zeros(N, T, dtype=torch.bool); tkpm[0, -1] = True
    mkpm = torch.zeros(N, S, dtype=torch.bool); mkpm[1, -2:] = True
    variants = [
        ('post_relu_causal_kpm', dict(norm_first=False, activation='relu'),
         {'tgtMask': causal_bool(T), 'tgtKeyPaddingMask': tkpm, 'memoryKeyPaddingMask': mkpm}, False),
        ('pre_gelu_causal_batchfirst', dict(norm_first=True, activation='gelu', batch_first=True),
         {'tgtMask': nn.Transformer.generate_square_subsequent_mask(T), 'memoryKeyPaddingMask': mkpm}, True),
        ('post_gelu_memmask_batchfirst', dict(norm_first=False, activation='gelu', batch_first=True, layer_norm_eps=1e-6),
         {'memoryMask': 0.3 * randn(gen, T, S)}, True),
        ('pre_relu_nomask', dict(norm_first=True, activation='relu'), {}, False),
    ]
    for i, (name, kw, masks, bf) in enumerate(variants):
        torch.manual_seed(20 + i)
        layer = nn.TransformerDecoderLayer(d, h, ff, dropout=0.0, **kw)
        tgt = randn(gen, N, T, d) if bf else randn(gen, T, N, d)
        mem = randn(gen, N, S, d) if bf else randn(gen, S, N, d)
        opts = {'dModel': d, 'nhead': h, 'dimFeedforward': ff, 'dropout': 0, 'activation': kw['activation'],
                'normFirst': kw['norm_first'], 'batchFirst': kw.get('batch_first', False), 'layerNormEps': kw.get('layer_norm_eps', 1e-5)}

        def call(m, x, mk):
            return m(x['tgt'], x['memory'], tgt_mask=mk.get('tgtMask'), memory_mask=mk.get('memoryMask'),
                     tgt_key_padding_mask=mk.get('tgtKeyPaddingMask'), memory_key_padding_mask=mk.get('memoryKeyPaddingMask')), None
        cases.append(run_case(name, layer, opts, {'tgt': tgt, 'memory': mem}, masks, call, {'causal': 'tgtMask' in masks}, gen))
    return cases


def transformer_cases(gen):
    cases = []
    d, h, ff, S, T, N = 8, 2, 16, 6, 5, 2
    skpm = torch.zeros(N, S, dtype=torch.bool); skpm[1, -2:] = True
    tkpm = torch.zeros(N, T, dtype=torch.bool); tkpm[0, -1] = True
    variants = [
        ('post_relu_full_masks', dict(norm_first=False, activation='relu'),
         {'tgtMask': nn.Transformer.generate_square_subsequent_mask(T), 'srcKeyPaddingMask': skpm,
          'tgtKeyPaddingMask': tkpm, 'memoryKeyPaddingMask': skpm}),
        ('pre_gelu_causal', dict(norm_first=True, activation='gelu'), {'tgtMask': causal_bool(T)}),
    ]
    for i, (name, kw, masks) in enumerate(variants):
        torch.manual_seed(30 + i)
        model = nn.Transformer(d, h, 2, 2, ff, dropout=0.0, batch_first=True, **kw)
        opts = {'dModel': d, 'nhead': h, 'numEncoderLayers': 2, 'numDecoderLayers': 2, 'dimFeedforward': ff, 'dropout': 0,
                'activation': kw['activation'], 'normFirst': kw['norm_first'], 'batchFirst': True}

        def call(m, x, mk):
            return m(x['src'], x['tgt'], tgt_mask=mk.get('tgtMask'), src_key_padding_mask=mk.get('srcKeyPaddingMask'),
                     tgt_key_padding_mask=mk.get('tgtKeyPaddingMask'), memory_key_padding_mask=mk.get('memoryKeyPaddingMask')), None
        cases.append(run_case(name, model, opts, {'src': randn(gen, N, S, d), 'tgt': randn(gen, N, T, d)}, masks, call,
                              {'causal': True}, gen))
    return cases


def main():
    os.makedirs(OUT, exist_ok=True)
    gen = torch.Generator().manual_seed(1234)
    groups = {
        'basic_layers': basic_cases(gen),
        'multihead_attention': mha_cases(gen),
        'encoder_layer': encoder_layer_cases(gen),
        'decoder_layer': decoder_layer_cases(gen),
        'transformer': transformer_cases(gen),
    }
    for name, cases in groups.items():
        path = os.path.join(OUT, name + '.json')
        with open(path + '.tmp', 'w') as f:
            json.dump({'generator': 'scripts/gen_layer_fixtures.py', 'torch': torch.__version__, 'cases': cases}, f, separators=(',', ':'))
        os.replace(path + '.tmp', path)
        print(f'{path}: {len(cases)} cases, {os.path.getsize(path)} bytes')


if __name__ == '__main__':
    main()
