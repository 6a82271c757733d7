#!/usr/bin/python3
"""Writes the PyTorch reference for tlm's LoRA layer: test/fixtures/lora/lora_linear.json.

Run with Debian's python3-torch (apt-get install python3-torch):

    /usr/bin/python3 scripts/gen_lora_fixtures.py

No peft package is needed: each case is PEFT's lora.Linear forward written out in torch,
    y = base(x) + lora_B(lora_A(dropout(x))) * scaling,   scaling = alpha / r  (rsLoRA: alpha / sqrt(r)),
with lora_A = nn.Linear(in, r, bias=False), lora_B = nn.Linear(r, out, bias=False), dropout 0 (PEFT
then uses nn.Identity), and base either nn.Linear (weight [out, in]) or HF's Conv1D (weight [in, out],
y = x @ W + b; PEFT's fan_in_fan_out=True). The merged weight is PEFT's get_delta_weight added to W:
W + transpose(B @ A, fan_in_fan_out) * scaling. B is random (not PEFT's zero init) so that every
gradient is non-trivial. Values are float32; the reference is computed in float64 from them. The
loss is sum(y * grad_output); gradients are those of x, lora_A and lora_B (the base is frozen).
"""
import json
import math
import os

import torch
from torch import nn

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'test', 'fixtures', 'lora')


def enc(t):
    vals = t.detach().to(torch.float32).flatten().tolist()
    return {'shape': list(t.shape), 'dtype': 'float32', 'data': [float('%.9g' % v) for v in vals]}


def case(name, gen, fan_in_fan_out, n_in, n_out, r, alpha, use_rslora, bias=True, batch=(2, 3)):
    f32 = lambda *shape: torch.randn(*shape, generator=gen, dtype=torch.float32)
    x = f32(*batch, n_in)
    weight = f32(n_in, n_out) if fan_in_fan_out else f32(n_out, n_in)
    b = 0.1 * f32(n_out) if bias else None
    a_w = f32(r, n_in) / math.sqrt(n_in)
    b_w = f32(n_out, r) / math.sqrt(r)
    g = f32(*batch, n_out)
    scaling = alpha / math.sqrt(r) if use_rslora else alpha / r

    d = lambda t: t.detach().double()
    x64 = d(x).requires_grad_(True)
    lora_A = nn.Linear(n_in, r, bias=False).double()
    lora_B = nn.Linear(r, n_out, bias=False).double()
    with torch.no_grad():
        lora_A.weight.copy_(d(a_w))
        lora_B.weight.copy_(d(b_w))
    # The base layer, frozen.
    base = (x64 @ d(weight)) if fan_in_fan_out else (x64 @ d(weight).T)
    if b is not None:
        base = base + d(b)
    y = base + lora_B(lora_A(nn.Identity()(x64))) * scaling
    (y * d(g)).sum().backward()
    delta = lora_B.weight.detach() @ lora_A.weight.detach()
    merged = d(weight) + (delta.T if fan_in_fan_out else delta) * scaling

    inputs = {'x': enc(x), 'weight': enc(weight), 'lora_A': enc(a_w), 'lora_B': enc(b_w), 'grad_output': enc(g)}
    if b is not None:
        inputs['bias'] = enc(b)
    return {
        'name': name, 'fanInFanOut': fan_in_fan_out, 'r': r, 'loraAlpha': alpha, 'useRslora': use_rslora, 'scaling': scaling,
        'inputs': inputs,
        'outputs': {'output': enc(y), 'merged_weight': enc(merged)},
        'grads': {'x': enc(x64.grad), 'lora_A': enc(lora_A.weight.grad), 'lora_B': enc(lora_B.weight.grad)},
    }


def main():
    gen = torch.Generator().manual_seed(1234)
    cases = [
        case('linear', gen, False, n_in=6, n_out=5, r=3, alpha=6, use_rslora=False),
        case('conv1d', gen, True, n_in=6, n_out=5, r=3, alpha=6, use_rslora=False),
        case('linear_rslora', gen, False, n_in=8, n_out=4, r=4, alpha=8, use_rslora=True),
        case('conv1d_rslora_no_bias', gen, True, n_in=5, n_out=7, r=2, alpha=3, use_rslora=True, bias=False, batch=(4,)),
    ]
    os.makedirs(OUT, exist_ok=True)
    path = os.path.join(OUT, 'lora_linear.json')
    with open(path, 'w') as f:
        json.dump({'torch': torch.__version__, 'cases': cases}, f)
        f.write('\n')
    print(f'wrote {path}: {len(cases)} cases')


if __name__ == '__main__':
    main()
