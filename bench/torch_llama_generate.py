#!/usr/bin/python3
"""PyTorch reference for bench/sections/llama.ts: greedy generation with a KV cache on a
SmolLM2-135M-shaped Llama (30 layers, 576 wide, 9 heads, 3 key/value heads, intermediate 1536,
vocab 49152, tied embeddings; random weights), written out in plain PyTorch (there is no HF
transformers here): grouped-query attention, RoPE, RMSNorm, SwiGLU, and a preallocated KV cache
written in place. Prints one JSON line.

    /usr/bin/python3 bench/torch_llama_generate.py --threads 2 [--matvec hf|mv] [--prompt 32
        --new 128 --ttft-prompt 128 --repeats 3]

--matvec hf (default) computes every projection as HF's LlamaForCausalLM does: nn.Linear
(F.linear, weight [out, in]); on Debian's torch a single row goes through sgemm. --matvec mv uses
torch.mv whenever a single row is multiplied: the fastest batch-1 decoding PyTorch offers here.
"""
import argparse
import json
import math
import time

import torch
import torch.nn.functional as F


MATVEC = 'hf'


def linear(x, w):
    """x [..., in] · w[out, in]ᵀ, as nn.Linear without bias (or torch.mv for one row with --matvec mv)."""
    if MATVEC == 'mv' and x.numel() == x.shape[-1]:
        return torch.mv(w, x.reshape(-1)).view(*x.shape[:-1], w.shape[0])
    return F.linear(x, w)


def rms_norm(x, w, eps):
    return w * (x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + eps))


def rotate_half(x):
    a, b = x.chunk(2, dim=-1)
    return torch.cat((-b, a), dim=-1)


class Layer(torch.nn.Module):
    def __init__(self, d, heads, kv_heads, inter, eps):
        super().__init__()
        self.h, self.kvh, self.hd, self.eps = heads, kv_heads, d // heads, eps
        p = lambda *s: torch.nn.Parameter(torch.empty(*s))
        self.q, self.k, self.v, self.o = p(d, d), p(kv_heads * self.hd, d), p(kv_heads * self.hd, d), p(d, d)
        self.gate, self.up, self.down = p(inter, d), p(inter, d), p(d, inter)
        self.ln1, self.ln2 = torch.nn.Parameter(torch.ones(d)), torch.nn.Parameter(torch.ones(d))

    def forward(self, x, cos, sin, cache, start):
        B, T, D = x.shape
        H, KVH, HD = self.h, self.kvh, self.hd
        h = rms_norm(x, self.ln1, self.eps)
        q = linear(h, self.q).view(B, T, H, HD).transpose(1, 2)
        k = linear(h, self.k).view(B, T, KVH, HD).transpose(1, 2)
        v = linear(h, self.v).view(B, T, KVH, HD).transpose(1, 2)
        q = q * cos + rotate_half(q) * sin
        k = k * cos + rotate_half(k) * sin
        kc, vc = cache
        kc[:, :, start:start + T] = k
        vc[:, :, start:start + T] = v
        S = start + T
        k, v = kc[:, :, :S], vc[:, :, :S]
        # Grouped-query attention: the H/KVH query heads of a group share one key/value head.
        G = H // KVH
        qg = q.reshape(B, KVH, G * T, HD)
        att = (qg @ k.transpose(-2, -1)) * (1.0 / math.sqrt(HD))
        if T > 1:  # causal, bottom-right aligned (the new queries sit at the end)
            mask = torch.ones(T, S, dtype=torch.bool).tril(diagonal=S - T).repeat(G, 1)
            att = att.masked_fill(~mask, float('-inf'))
        y = (att.softmax(-1) @ v).reshape(B, H, T, HD).transpose(1, 2).reshape(B, T, D)
        x = x + linear(y, self.o)
        h = rms_norm(x, self.ln2, self.eps)
        return x + linear(F.silu(linear(h, self.gate)) * linear(h, self.up), self.down)


class Llama(torch.nn.Module):
    def __init__(self, layers, d, heads, kv_heads, inter, vocab, theta=100000.0, eps=1e-5):
        super().__init__()
        self.embed = torch.nn.Parameter(torch.empty(vocab, d))
        self.layers = torch.nn.ModuleList([Layer(d, heads, kv_heads, inter, eps) for _ in range(layers)])
        self.norm = torch.nn.Parameter(torch.ones(d))
        self.eps, self.kvh, self.hd = eps, kv_heads, d // heads
        self.inv_freq = 1.0 / (theta ** (torch.arange(0, self.hd, 2, dtype=torch.float32) / self.hd))
        for p in self.parameters():
            if p.dim() > 1:
                torch.nn.init.normal_(p, std=0.02)

    def new_cache(self, length):
        return [(torch.zeros(1, self.kvh, length, self.hd), torch.zeros(1, self.kvh, length, self.hd)) for _ in self.layers]

    def forward(self, ids, cache, start):
        T = ids.shape[1]
        x = F.embedding(ids, self.embed)
        freqs = torch.outer(torch.arange(start, start + T, dtype=torch.float32), self.inv_freq)
        emb = torch.cat((freqs, freqs), dim=-1)
        cos, sin = emb.cos(), emb.sin()
        for layer, c in zip(self.layers, cache):
            x = layer(x, cos, sin, c, start)
        # Only the last position's logits (tied head), as a generation loop needs.
        h = rms_norm(x[:, -1], self.norm, self.eps)
        return linear(h, self.embed)


@torch.no_grad()
def generate(model, ids, new_tokens):
    cache = model.new_cache(ids.shape[1] + new_tokens)
    logits = model(ids, cache, 0)
    pos = ids.shape[1]
    out = []
    for i in range(new_tokens):
        tok = logits.argmax(-1, keepdim=True)
        out.append(tok)
        if i + 1 < new_tokens:
            logits = model(tok, cache, pos)
            pos += 1
    return torch.cat(out, 1)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--threads', type=int, required=True)
    ap.add_argument('--layers', type=int, default=30)
    ap.add_argument('--width', type=int, default=576)
    ap.add_argument('--heads', type=int, default=9)
    ap.add_argument('--kv-heads', type=int, default=3)
    ap.add_argument('--intermediate', type=int, default=1536)
    ap.add_argument('--vocab', type=int, default=49152)
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
    model = Llama(a.layers, a.width, a.heads, a.kv_heads, a.intermediate, a.vocab).eval()
    ids = torch.randint(0, a.vocab, (1, a.prompt))
    long_ids = torch.randint(0, a.vocab, (1, a.ttft_prompt))
    generate(model, ids, 4)  # warm up
    best = float('inf')
    for _ in range(a.repeats):
        t0 = time.perf_counter()
        out = generate(model, ids, a.new)
        best = min(best, time.perf_counter() - t0)
        assert out.shape[1] == a.new
    ttft = float('inf')
    for _ in range(a.repeats):
        t0 = time.perf_counter()
        generate(model, long_ids, 1)
        ttft = min(ttft, time.perf_counter() - t0)
    print(json.dumps({'tokens_per_s': a.new / best, 'ttft_ms': ttft * 1e3, 'threads': torch.get_num_threads(),
                      'torch': torch.__version__, 'matvec': a.matvec}))


if __name__ == '__main__':
    main()
