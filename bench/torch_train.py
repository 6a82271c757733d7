#!/usr/bin/env python3
"""PyTorch reference for the training-step benchmark: the same GPT-2-layout model tlm trains
(learned positions, pre-norm blocks with biases, gelu_new, tied lm_head), AdamW, grad clip 1.0,
random token batches. Prints one JSON object: {"ms_per_step", "tokens_per_s", "threads"}.

  /usr/bin/python3 bench/torch_train.py --n-layer 4 --n-head 4 --n-embd 128 --block-size 64 --batch-size 12 --vocab 65 --threads 2
"""
import argparse, json, math, time
import torch
import torch.nn as nn
import torch.nn.functional as F

p = argparse.ArgumentParser()
for name, default in [('n-layer', 4), ('n-head', 4), ('n-embd', 128), ('block-size', 64), ('batch-size', 12),
                      ('vocab', 65), ('steps', 30), ('warmup', 5), ('threads', 2)]:
    p.add_argument('--' + name, type=int, default=default)
a = p.parse_args()
torch.set_num_threads(a.threads)
torch.manual_seed(0)

class Block(nn.Module):
    def __init__(s, d, h):
        super().__init__()
        s.h = h
        s.ln_1, s.ln_2 = nn.LayerNorm(d), nn.LayerNorm(d)
        s.c_attn, s.c_proj = nn.Linear(d, 3 * d), nn.Linear(d, d)
        s.c_fc, s.mlp_proj = nn.Linear(d, 4 * d), nn.Linear(4 * d, d)
        s.register_buffer('mask', torch.tril(torch.ones(a.block_size, a.block_size)).view(1, 1, a.block_size, a.block_size))
    def forward(s, x):
        B, T, C = x.shape
        q, k, v = s.c_attn(s.ln_1(x)).split(C, dim=2)
        q, k, v = (t.view(B, T, s.h, C // s.h).transpose(1, 2) for t in (q, k, v))
        # Debian's torch 1.13 predates F.scaled_dot_product_attention: the classic masked softmax.
        att = (q @ k.transpose(-2, -1)) * (1.0 / math.sqrt(k.size(-1)))
        att = att.masked_fill(s.mask[:, :, :T, :T] == 0, float('-inf'))
        y = F.softmax(att, dim=-1) @ v
        x = x + s.c_proj(y.transpose(1, 2).contiguous().view(B, T, C))
        return x + s.mlp_proj(F.gelu(s.c_fc(s.ln_2(x)), approximate='tanh'))

class GPT(nn.Module):
    def __init__(s):
        super().__init__()
        s.wte, s.wpe = nn.Embedding(a.vocab, a.n_embd), nn.Embedding(a.block_size, a.n_embd)
        s.h = nn.ModuleList([Block(a.n_embd, a.n_head) for _ in range(a.n_layer)])
        s.ln_f = nn.LayerNorm(a.n_embd)
    def forward(s, idx, targets):
        x = s.wte(idx) + s.wpe(torch.arange(idx.shape[1]))
        for b in s.h: x = b(x)
        logits = s.ln_f(x) @ s.wte.weight.t()
        return F.cross_entropy(logits.view(-1, logits.size(-1)), targets.view(-1))

model = GPT()
opt = torch.optim.AdamW(model.parameters(), lr=1e-3, betas=(0.9, 0.99), weight_decay=0.1)
def step():
    x = torch.randint(0, a.vocab, (a.batch_size, a.block_size))
    y = torch.randint(0, a.vocab, (a.batch_size, a.block_size))
    loss = model(x, y)
    loss.backward()
    torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
    opt.step()
    opt.zero_grad(set_to_none=True)
for _ in range(a.warmup): step()
t0 = time.perf_counter()
for _ in range(a.steps): step()
dt = (time.perf_counter() - t0) / a.steps
print(json.dumps({'ms_per_step': dt * 1000, 'tokens_per_s': a.batch_size * a.block_size / dt, 'threads': a.threads,
                  'params': sum(p.numel() for p in model.parameters())}))
