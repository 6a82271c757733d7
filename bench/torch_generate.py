#!/usr/bin/python3
"""PyTorch reference for bench/sections/generate.ts: greedy generation with a KV cache on a
GPT-2-small-shaped model (random weights), written out in plain PyTorch (there is no HF
transformers here). Prints one JSON line.

    /usr/bin/python3 bench/torch_generate.py --threads 2 [--matvec hf|mv] [--layers 12 --heads 12
        --width 768 --vocab 50257 --prompt 32 --new 128 --ttft-prompt 128 --repeats 3]

--matvec hf (default) computes every projection as HF's GPT-2 does: Conv1D = torch.addmm with the
weight stored [in, out], and the tied LM head as F.linear. On Debian's torch these go through
sgemm even for one row, which is slow for the LM head. --matvec mv uses torch.addmv / torch.mv with
[out, in] weights whenever a single row is multiplied: the fastest batch-1 decoding PyTorch offers
here, for comparison.
"""
import argparse
import json
import math
import time

import torch
import torch.nn.functional as F


MATVEC = 'hf'


class Conv1D(torch.nn.Module):
    """HF's Conv1D: y = x W + b with W [in, out]."""

    def __init__(self, nx, nf):
        super().__init__()
        self.weight = torch.nn.Parameter(torch.empty(nx, nf))
        self.bias = torch.nn.Parameter(torch.zeros(nf))
        self.weight_t = None  # [out, in] copy for --matvec mv

    def forward(self, x):
        shape = x.shape[:-1] + (self.weight.shape[1],)
        x2 = x.reshape(-1, x.shape[-1])
        if MATVEC == 'mv' and x2.shape[0] == 1:
            if self.weight_t is None:
                self.weight_t = self.weight.t().contiguous()
            return torch.addmv(self.bias, self.weight_t, x2[0]).view(shape)
        return torch.addmm(self.bias, x2, self.weight).view(shape)


class Block(torch.nn.Module):
    def __init__(self, d, h):
        super().__init__()
        self.h = h
        self.ln_1 = torch.nn.LayerNorm(d)
        self.c_attn = Conv1D(d, 3 * d)
        self.c_proj = Conv1D(d, d)
        self.ln_2 = torch.nn.LayerNorm(d)
        self.c_fc = Conv1D(d, 4 * d)
        self.c_fc_proj = Conv1D(4 * d, d)

    def forward(self, x, past):
        B, T, D = x.shape
        H = self.h
        q, k, v = self.c_attn(self.ln_1(x)).split(D, dim=2)
        q, k, v = (t.view(B, T, H, D // H).transpose(1, 2) for t in (q, k, v))
        if past is not None:
            k = torch.cat([past[0], k], dim=2)
            v = torch.cat([past[1], v], dim=2)
        S = k.shape[2]
        att = (q @ k.transpose(-2, -1)) * (1.0 / math.sqrt(D // H))
        if T > 1:  # causal, bottom-right aligned (the new queries sit at the end)
            mask = torch.ones(T, S, dtype=torch.bool).tril(diagonal=S - T)
            att = att.masked_fill(~mask, float('-inf'))
        y = att.softmax(-1) @ v
        x = x + self.c_proj(y.transpose(1, 2).reshape(B, T, D))
        x = x + self.c_fc_proj(F.gelu(self.c_fc(self.ln_2(x)), approximate='tanh'))
        return x, (k, v)


class GPT(torch.nn.Module):
    def __init__(self, layers, heads, d, vocab, ctx):
        super().__init__()
        self.wte = torch.nn.Embedding(vocab, d)
        self.wpe = torch.nn.Embedding(ctx, d)
        self.h = torch.nn.ModuleList([Block(d, heads) for _ in range(layers)])
        self.ln_f = torch.nn.LayerNorm(d)
        for p in self.parameters():
            if p.dim() > 1:
                torch.nn.init.normal_(p, std=0.02)

    def forward(self, ids, past):
        T = ids.shape[1]
        start = 0 if past is None else past[0][0].shape[2]
        x = self.wte(ids) + self.wpe(torch.arange(start, start + T))
        present = []
        for i, block in enumerate(self.h):
            x, kv = block(x, None if past is None else past[i])
            present.append(kv)
        # Only the last position's logits (tied head, nn.Linear as HF's lm_head), as a generation loop needs.
        h = self.ln_f(x[:, -1])
        logits = torch.mv(self.wte.weight, h[0])[None] if MATVEC == 'mv' else F.linear(h, self.wte.weight)
        return logits[:, None], present


@torch.no_grad()
def generate(model, ids, new_tokens):
    logits, past = model(ids, None)
    out = []
    for i in range(new_tokens):
        tok = logits[:, -1].argmax(-1, keepdim=True)
        out.append(tok)
        if i + 1 < new_tokens:
            logits, past = model(tok, past)
    return torch.cat(out, 1)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--threads', type=int, required=True)
    ap.add_argument('--layers', type=int, default=12)
    ap.add_argument('--heads', type=int, default=12)
    ap.add_argument('--width', type=int, default=768)
    ap.add_argument('--vocab', type=int, default=50257)
    ap.add_argument('--prompt', type=int, default=32)
    ap.add_argument('--new', type=int, default=128)
    ap.add_argument('--ttft-prompt', type=int, default=128)
    ap.add_argument('--repeats', type=int, default=3)
    ap.add_argument('--matvec', choices=['hf', 'mv'], default='hf')
    a = ap.parse_args()
    global MATVEC
    MATVEC = a.matvec
    torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    model = GPT(a.layers, a.heads, a.width, a.vocab, 1024).eval()
    ids = torch.randint(0, a.vocab, (1, a.prompt))
    long_ids = torch.randint(0, a.vocab, (1, a.ttft_prompt))
    generate(model, ids, 4)  # warm up
    best = float('inf')
    for _ in range(a.repeats):
        t0 = time.perf_counter()
        generate(model, ids, a.new)
        best = min(best, time.perf_counter() - t0)
    ttft = float('inf')
    for _ in range(a.repeats):
        t0 = time.perf_counter()
        generate(model, long_ids, 1)
        ttft = min(ttft, time.perf_counter() - t0)
    print(json.dumps({'tokens_per_s': a.new / best, 'ttft_ms': ttft * 1e3, 'threads': torch.get_num_threads(),
                      'torch': torch.__version__, 'matvec': a.matvec}))


if __name__ == '__main__':
    main()
