#!/usr/bin/env python3
"""PyTorch CPU timings for bench/sections/cpu.ts, measured on the same machine in the same run.

Reads a JSON list of cases on stdin, prints one JSON object on stdout:
  {"torch": version, "threads": n, "blas": ..., "results": {case name: value}}
matmul values are GFLOP/s, everything else milliseconds; each is the best of several timed runs
after a warm-up (the same statistic tlm's side uses).

    echo '[{"name": "mm", "op": "matmul", "m": 256, "k": 256, "n": 256}]' | python3 bench/torch_ops.py --threads 2
"""
import json
import math
import os
import sys
import time

import torch
import torch.nn.functional as F


def best_time(fn, min_reps=5, budget_s=0.6):
    fn()
    fn()
    times = []
    start = time.perf_counter()
    while len(times) < min_reps or (time.perf_counter() - start < budget_s and len(times) < 200):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return min(times)


def attention(q, k, v):
    # torch 1.13 (Debian's) has no F.scaled_dot_product_attention: the composite it replaced.
    if hasattr(F, 'scaled_dot_product_attention'):
        return F.scaled_dot_product_attention(q, k, v, is_causal=True)
    L, S = q.shape[-2], k.shape[-2]
    s = (q @ k.transpose(-2, -1)) * (1.0 / math.sqrt(q.shape[-1]))
    s = s.masked_fill(torch.ones(L, S, dtype=torch.bool).triu(1), float('-inf'))
    return torch.softmax(s, -1) @ v


def run(case):
    op = case['op']
    g = torch.Generator().manual_seed(0)
    with torch.no_grad():
        if op == 'matmul':
            m, k, n = case['m'], case['k'], case['n']
            a, b = torch.randn(m, k, generator=g), torch.randn(k, n, generator=g)
            return 2 * m * n * k / best_time(lambda: a @ b) / 1e9
        if op == 'softmax':
            x = torch.randn(*case['shape'], generator=g)
            return best_time(lambda: torch.softmax(x, -1)) * 1e3
        if op == 'gelu':
            x = torch.randn(*case['shape'], generator=g)
            return best_time(lambda: F.gelu(x)) * 1e3
        if op == 'layernorm':
            x = torch.randn(*case['shape'], generator=g)
            d = case['shape'][-1]
            w, b = torch.randn(d, generator=g), torch.randn(d, generator=g)
            return best_time(lambda: F.layer_norm(x, (d,), w, b, 1e-5)) * 1e3
        if op == 'attention':
            q, k, v = (torch.randn(*case['shape'], generator=g) for _ in range(3))
            return best_time(lambda: attention(q, k, v)) * 1e3
    raise ValueError(f'unknown op {op}')


def main():
    threads = int(sys.argv[sys.argv.index('--threads') + 1]) if '--threads' in sys.argv else torch.get_num_threads()
    torch.set_num_threads(threads)
    cases = json.load(sys.stdin)
    results = {c['name']: run(c) for c in cases}
    # Debian's torch calls the system BLAS (libblas.so.3, an alternatives link): name what it points to.
    blas = os.path.realpath('/usr/lib/x86_64-linux-gnu/libblas.so.3')
    print(json.dumps({'torch': torch.__version__, 'threads': threads, 'blas': blas, 'results': results}))


if __name__ == '__main__':
    main()
