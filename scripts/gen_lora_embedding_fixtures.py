#!/usr/bin/python3
"""Writes the PyTorch reference for tlm's LoRA embedding layer: test/fixtures/lora/lora_embedding.json.

Run with Debian's python3-torch (apt-get install python3-torch):

    /usr/bin/python3 scripts/gen_lora_embedding_fixtures.py

No peft package is needed: each case is PEFT's lora.Embedding forward written out in torch,
    y = F.embedding(ids, W, padding_idx) + F.embedding(ids, A.T, padding_idx) @ B.T * scaling,
with A [r, num_embeddings] and B [dim, r] (PEFT's lora_embedding_A / lora_embedding_B). The merged
table is PEFT's get_delta_weight added to W: W + (B @ A).T * scaling. A is random (not PEFT's zero
init) so that every gradient is non-trivial. Values are float32; the reference is computed in float64
from them. The loss is sum(y * grad_output); gradients are those of A and B (the table is frozen).
"""
import json
import os

import torch
import torch.nn.functional as F

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'test', 'fixtures', 'lora')


def enc(t):
    vals = t.detach().to(torch.float32).flatten().tolist()
    return {'shape': list(t.shape), 'dtype': 'float32', 'data': [float('%.9g' % v) for v in vals]}


def case(name, gen, num, dim, r, alpha, ids, padding_idx=None):
    f32 = lambda *shape: torch.randn(*shape, generator=gen, dtype=torch.float32)
    weight = f32(num, dim)
    a = f32(r, num)
    b = f32(dim, r)
    ids_t = torch.tensor(ids, dtype=torch.long)
    g = f32(*ids_t.shape, dim)
    scaling = alpha / r
    d = lambda t: t.detach().double()
    a64, b64 = d(a).requires_grad_(True), d(b).requires_grad_(True)
    y = F.embedding(ids_t, d(weight), padding_idx=padding_idx) + F.embedding(ids_t, a64.T, padding_idx=padding_idx) @ b64.T * scaling
    (y * d(g)).sum().backward()
    merged = d(weight) + (d(b) @ d(a)).T * scaling
    return {
        'name': name, 'r': r, 'loraAlpha': alpha, 'scaling': scaling, 'paddingIdx': padding_idx, 'ids': ids,
        'inputs': {'weight': enc(weight), 'lora_embedding_A': enc(a), 'lora_embedding_B': enc(b), 'grad_output': enc(g)},
        'outputs': {'output': enc(y), 'merged_weight': enc(merged)},
        'grads': {'lora_embedding_A': enc(a64.grad), 'lora_embedding_B': enc(b64.grad)},
    }


def main():
    gen = torch.Generator().manual_seed(4321)
    cases = [
        case('embedding', gen, num=7, dim=5, r=3, alpha=6, ids=[[1, 4, 4, 6], [0, 2, 3, 1]]),
        case('embedding_padding', gen, num=6, dim=4, r=2, alpha=3, ids=[[2, 5, 0, 0], [1, 1, 3, 0]], padding_idx=0),
    ]
    os.makedirs(OUT, exist_ok=True)
    path = os.path.join(OUT, 'lora_embedding.json')
    with open(path, 'w') as f:
        json.dump({'torch': torch.__version__, 'cases': cases}, f)
    print('wrote', path)


if __name__ == '__main__':
    main()
