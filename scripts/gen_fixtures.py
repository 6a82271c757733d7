#!/usr/bin/python3
"""Writes test/fixtures/ops/*.json: PyTorch's forward outputs and gradients for the ops the tensor
engine must match (matmul, softmax, logSoftmax, layerNorm, gelu, crossEntropy, embedding), plus
torch's str() of a few tensors for toString.

Run from the repo root with Debian's torch:  /usr/bin/python3 scripts/gen_fixtures.py
Tests read only the committed JSON; they never run Python.

Inputs are float32 values with 4 decimals (so JSON holds them exactly as float32 sees them); the
reference is computed from those float32 values in float64, so a fixture carries the exact answer
and the tests measure tlm's float32 error alone. Each case has a random upstream gradient `upstream`
(same shape as the output) and `grads`: d(sum(upstream * output)) / d(input) for every float input.
"""
import json
import os

import torch
import torch.nn.functional as F

OUT = os.path.join('test', 'fixtures', 'ops')
gen = torch.Generator().manual_seed(1234)


def rnd(*shape, scale=1.0, shift=0.0):
    """float32-exact values rounded to 4 decimals, as float64 for the reference computation."""
    x = torch.randn(tuple(shape), generator=gen, dtype=torch.float64) * scale + shift
    return x.mul(1e4).round().div(1e4).float().double()


def ints(low, high, *shape):
    return torch.randint(low, high, tuple(shape), generator=gen, dtype=torch.int64)


def enc(t, short=False):
    t = t.detach()
    if t.dtype in (torch.int64, torch.int32):
        return {'shape': list(t.shape), 'dtype': 'int32', 'data': [int(v) for v in t.reshape(-1).tolist()]}
    # Inputs are 4-decimal float32 values: written with 4 decimals they parse back to the same float32.
    # Outputs and gradients: 9 significant digits, far below the 1e-5 the tests allow.
    vals = t.reshape(-1).tolist()
    return {'shape': list(t.shape), 'dtype': 'float32', 'data': [round(v, 4) if short else float('%.9g' % v) for v in vals]}


def case(name, fn, inputs, args=None, nograd=()):
    """Runs fn(**inputs) in float64 and backpropagates a random upstream gradient."""
    leaves = {}
    for k, v in inputs.items():
        if v.is_floating_point() and k not in nograd:
            v = v.clone().requires_grad_(True)
        leaves[k] = v
    out = fn(**leaves)
    upstream = rnd(*out.shape)
    floats = [v for v in leaves.values() if v.requires_grad]
    grads = torch.autograd.grad(out, floats, upstream, allow_unused=True)
    names = [k for k, v in leaves.items() if v.requires_grad]
    return {
        'name': name,
        'args': args or {},
        'inputs': {k: enc(v, short=True) for k, v in inputs.items()},
        'output': enc(out),
        'upstream': enc(upstream, short=True),
        'grads': {k: enc(g if g is not None else torch.zeros_like(leaves[k])) for k, g in zip(names, grads)},
    }


def write(op, cases):
    path = os.path.join(OUT, op + '.json')
    doc = {'op': op, 'source': 'scripts/gen_fixtures.py', 'torch': torch.__version__, 'cases': cases}
    with open(path + '.tmp', 'w') as f:
        json.dump(doc, f, separators=(',', ':'))
        f.write('\n')
    os.replace(path + '.tmp', path)
    print(f'{path}: {len(cases)} cases, {os.path.getsize(path)} bytes')


def matmul_cases():
    shapes = [([3, 4], [4, 5]), ([2, 3, 4], [4, 5]), ([2, 1, 3, 4], [3, 4, 2]), ([4], [4, 5]),
              ([3, 4], [4]), ([4], [4]), ([2, 3, 4], [4]), ([4], [2, 4, 3]), ([2, 3, 4], [2, 4, 2])]
    return [case(f'{a} @ {b}', lambda a, b: torch.matmul(a, b), {'a': rnd(*a), 'b': rnd(*b)}) for a, b in shapes]


def softmax_cases(fn):
    out = []
    for shape, dim in [([3, 5], -1), ([3, 5], 0), ([2, 3, 4], 1), ([2, 3, 4], 0), ([2, 3, 4], -1)]:
        out.append(case(f'{shape} dim={dim}', lambda x, dim=dim: fn(x, dim), {'x': rnd(*shape, scale=2.0)}, {'dim': dim}))
    # Large logits: only a max-subtracting kernel survives these in float32.
    out.append(case('[2,5] dim=-1 shifted by 90', lambda x: fn(x, -1), {'x': rnd(2, 5, scale=3.0, shift=90.0)}, {'dim': -1}))
    return out


def layer_norm_cases():
    out = []
    specs = [([2, 3, 4], [4], True, True, 1e-5), ([2, 3, 4], [3, 4], True, True, 1e-5),
             ([3, 5], [5], False, False, 1e-5), ([3, 5], [5], True, False, 1e-5), ([3, 5], [5], True, True, 0.1)]
    for shape, norm, w, b, eps in specs:
        inputs = {'x': rnd(*shape, scale=2.0, shift=0.5)}
        if w:
            inputs['weight'] = rnd(*norm, scale=0.5, shift=1.0)
        if b:
            inputs['bias'] = rnd(*norm, scale=0.5)

        def fn(x, weight=None, bias=None, norm=norm, eps=eps):
            return F.layer_norm(x, norm, weight, bias, eps)
        out.append(case(f'{shape} over {norm} weight={w} bias={b} eps={eps}', fn, inputs,
                        {'normalizedShape': norm, 'eps': eps}))
    return out


def gelu_cases():
    out = []
    for approx in ['none', 'tanh']:
        # Spread over [-6, 6]: the left tail checks erf's relative accuracy where gelu is tiny.
        x = rnd(3, 5, scale=3.0)
        out.append(case(f'approximate={approx}', lambda x, a=approx: F.gelu(x, approximate=a), {'x': x}, {'approximate': approx}))
    return out


def cross_entropy_cases():
    out = []

    def ce(**kw):
        return lambda logits, target, weight=None: F.cross_entropy(logits, target, weight=weight, **kw)
    tgt = torch.tensor([1, -100, 4, 0])
    for red in ['mean', 'sum', 'none']:
        out.append(case(f'[4,5] ignore -100 reduction={red}', ce(reduction=red),
                        {'logits': rnd(4, 5, scale=2.0), 'target': tgt}, {'reduction': red}))
    out.append(case('[4,5] labelSmoothing=0.1 mean, ignore -100', ce(label_smoothing=0.1),
                    {'logits': rnd(4, 5, scale=2.0), 'target': tgt}, {'labelSmoothing': 0.1}))
    out.append(case('[4,5] labelSmoothing=0.2 none, ignoreIndex=2', ce(label_smoothing=0.2, ignore_index=2, reduction='none'),
                    {'logits': rnd(4, 5, scale=2.0), 'target': torch.tensor([2, 3, 0, 2])},
                    {'labelSmoothing': 0.2, 'ignoreIndex': 2, 'reduction': 'none'}))
    # torch.cross_entropy has no gradient for class weights: they are constants here.
    out.append(case('[4,5] class weights, labelSmoothing=0.1 mean', ce(label_smoothing=0.1),
                    {'logits': rnd(4, 5, scale=2.0), 'target': tgt, 'weight': rnd(5, scale=0.3, shift=1.0)},
                    {'labelSmoothing': 0.1}, nograd=('weight',)))
    out.append(case('[2,4,3] (N,C,d) mean, ignore -100', ce(),
                    {'logits': rnd(2, 4, 3, scale=2.0), 'target': torch.tensor([[0, 3, -100], [2, 1, 1]])}))
    out.append(case('[2,4,3] (N,C,d) labelSmoothing=0.1 none', ce(label_smoothing=0.1, reduction='none'),
                    {'logits': rnd(2, 4, 3, scale=2.0), 'target': ints(0, 4, 2, 3)},
                    {'labelSmoothing': 0.1, 'reduction': 'none'}))
    out.append(case('[2,3,2,2] (N,C,d1,d2) none', ce(reduction='none'),
                    {'logits': rnd(2, 3, 2, 2, scale=2.0), 'target': ints(0, 3, 2, 2, 2)}, {'reduction': 'none'}))
    out.append(case('[5] (C) with a scalar target', ce(),
                    {'logits': rnd(5, scale=2.0), 'target': torch.tensor(3)}))
    return out


def embedding_cases():
    ids = torch.tensor([[1, 4, 1, 0, 5], [4, 4, 2, 1, 0]])  # repeats: the gradient must accumulate
    return [
        case('[6,4] weight, [2,5] ids with repeats', lambda ids, weight: F.embedding(ids, weight),
             {'ids': ids, 'weight': rnd(6, 4)}),
        case('[6,4] weight, [7] ids, paddingIdx=4', lambda ids, weight: F.embedding(ids, weight, padding_idx=4),
             {'ids': torch.tensor([4, 0, 4, 3, 3, 3, 1]), 'weight': rnd(6, 4)}, {'paddingIdx': 4}),
    ]


def tostring_cases():
    # torch's str() of float32 tensors (the int32 dtype label is torch's; the test maps it to tlm's).
    specs = {
        'ints as floats': torch.tensor([[1., 2.], [3., 4.]]),
        'decimals': torch.tensor([0.5, -1.25, 3.0]),
        'scientific (small)': torch.tensor([1e-5, 1.0]),
        'scientific (ratio)': torch.tensor([1., 2000.]),
        'nan in int mode': torch.tensor([1., float('nan')]),
        'inf': torch.tensor([-float('inf'), 0.5]),
        'wrap at 80 columns': torch.arange(30.) / 7,
        '3-d': torch.arange(12.).reshape(2, 2, 3),
        'scalar': torch.tensor(3.5),
        'empty': torch.zeros(0),
        'empty 2-d': torch.zeros(2, 0),
        'int32': torch.tensor([[1, -20], [300, 4]], dtype=torch.int32),
        'bool': torch.tensor([True, False]),
        'summarized': torch.arange(2000.).reshape(40, 50),
        'summarized decimals': torch.arange(1200.) / 3,
    }
    # Long tensors are stored as arange(n) / div rather than as data.
    aranges = {'summarized': 1, 'summarized decimals': 3}
    out = []
    for name, t in specs.items():
        if t.dtype == torch.bool:
            data = [1 if v else 0 for v in t.reshape(-1).tolist()]
            dtype = 'bool'
        elif t.dtype == torch.int32:
            data, dtype = [int(v) for v in t.reshape(-1).tolist()], 'int32'
        else:
            data, dtype = [v if v == v and abs(v) != float('inf') else str(v) for v in t.reshape(-1).tolist()], 'float32'
        entry = {'name': name, 'shape': list(t.shape), 'dtype': dtype, 'data': data, 'str': str(t)}
        if name in aranges:
            entry['data'] = None
            entry['arangeDiv'] = aranges[name]
        out.append(entry)
    return out


def main():
    os.makedirs(OUT, exist_ok=True)
    write('matmul', matmul_cases())
    write('softmax', softmax_cases(torch.softmax))
    write('log_softmax', softmax_cases(torch.log_softmax))
    write('layer_norm', layer_norm_cases())
    write('gelu', gelu_cases())
    write('cross_entropy', cross_entropy_cases())
    write('embedding', embedding_cases())
    write('tostring', tostring_cases())


if __name__ == '__main__':
    main()
