#!/usr/bin/env python3
"""nanoGPT's CPU "baby GPT" run, in PyTorch, for the validation loss tlm's run is held to: character-level
Tiny Shakespeare (first 90% train, last 10% val), n_layer 4, n_head 4, n_embd 128, block 64, batch 12,
2000 iterations, lr 1e-3 warmup 100 then cosine to 1e-4, AdamW (0.9, 0.99), weight decay 0.1 on every
2-D parameter, grad clip 1.0, dropout 0, eval_iters 20. The model is nanoGPT's (no biases, exact GELU,
tied lm_head, std 0.02 init with the residual projections scaled by 1/sqrt(2·n_layer)); pass --bias,
--gelu tanh and --decay matrices for the GPT-2 layout and decay rule that `tlm train` uses by default.

  /usr/bin/python3 bench/torch_babygpt.py --seed 1337 [--bias] [--gelu tanh] [--decay matrices] [--threads 2]

Prints one JSON line: {"seed", "val_loss", "train_loss", "seconds"}.
"""
import argparse, json, math, time
import torch
import torch.nn as nn
import torch.nn.functional as F

p = argparse.ArgumentParser()
p.add_argument('--data', default='data/tinyshakespeare.txt')
p.add_argument('--seed', type=int, default=1337)
p.add_argument('--threads', type=int, default=2)
p.add_argument('--bias', action='store_true')
p.add_argument('--gelu', default='none', choices=['none', 'tanh'])
p.add_argument('--decay', default='matrices+embeddings', choices=['matrices', 'matrices+embeddings'],
               help="which 2-D parameters get weight decay: nanoGPT's all (default), or tlm's default of all but the embeddings")
p.add_argument('--max-iters', type=int, default=2000)
a = p.parse_args()
torch.set_num_threads(a.threads)
torch.manual_seed(a.seed)
L, H, C, T, B = 4, 4, 128, 64, 12
lr, min_lr, warmup, decay_iters, eval_iters = 1e-3, 1e-4, 100, a.max_iters, 20

text = open(a.data, encoding='utf-8').read()
chars = sorted(set(text))
stoi = {c: i for i, c in enumerate(chars)}
ids = torch.tensor([stoi[c] for c in text], dtype=torch.long)
n = int(0.9 * len(ids))
splits = {'train': ids[:n], 'val': ids[n:]}

def batch(split):
    d = splits[split]
    ix = torch.randint(len(d) - T, (B,))
    return torch.stack([d[i:i + T] for i in ix]), torch.stack([d[i + 1:i + 1 + T] for i in ix])

class Block(nn.Module):
    def __init__(s):
        super().__init__()
        s.ln_1, s.ln_2 = nn.LayerNorm(C), nn.LayerNorm(C)
        if not a.bias:  # torch 1.13's LayerNorm has no bias switch: drop the parameter
            for ln in (s.ln_1, s.ln_2): ln.bias = None
        s.c_attn, s.c_proj = nn.Linear(C, 3 * C, bias=a.bias), nn.Linear(C, C, bias=a.bias)
        s.c_fc, s.mlp_proj = nn.Linear(C, 4 * C, bias=a.bias), nn.Linear(4 * C, C, bias=a.bias)
        s.register_buffer('mask', torch.tril(torch.ones(T, T)).view(1, 1, T, T))
    def forward(s, x):
        q, k, v = s.c_attn(s.ln_1(x)).split(C, dim=2)
        q, k, v = (t.view(x.shape[0], x.shape[1], H, C // H).transpose(1, 2) for t in (q, k, v))
        att = (q @ k.transpose(-2, -1)) * (1.0 / math.sqrt(k.size(-1)))
        att = att.masked_fill(s.mask[:, :, :x.shape[1], :x.shape[1]] == 0, float('-inf'))
        y = (F.softmax(att, dim=-1) @ v).transpose(1, 2).contiguous().view(x.shape)
        x = x + s.c_proj(y)
        return x + s.mlp_proj(F.gelu(s.c_fc(s.ln_2(x)), approximate=a.gelu))

class GPT(nn.Module):
    def __init__(s):
        super().__init__()
        s.wte, s.wpe = nn.Embedding(len(chars), C), nn.Embedding(T, C)
        s.h = nn.ModuleList([Block() for _ in range(L)])
        s.ln_f = nn.LayerNorm(C)
        if not a.bias: s.ln_f.bias = None
        for name, p_ in s.named_parameters():
            if p_.dim() >= 2: nn.init.normal_(p_, 0.0, 0.02 / math.sqrt(2 * L) if name.endswith(('c_proj.weight', 'mlp_proj.weight')) else 0.02)
            elif name.endswith('bias'): nn.init.zeros_(p_)
    def forward(s, idx, targets):
        x = s.wte(idx) + s.wpe(torch.arange(idx.shape[1]))
        for blk in s.h: x = blk(x)
        logits = s.ln_f(x) @ s.wte.weight.t()
        return F.cross_entropy(logits.view(-1, logits.size(-1)), targets.view(-1))

model = GPT()
def decays(name, p_):
    return p_.dim() >= 2 and (a.decay == 'matrices+embeddings' or not name.startswith(('wte', 'wpe')))
decay = [p_ for n_, p_ in model.named_parameters() if decays(n_, p_)]
no_decay = [p_ for n_, p_ in model.named_parameters() if not decays(n_, p_)]
opt = torch.optim.AdamW([{'params': decay, 'weight_decay': 0.1}, {'params': no_decay, 'weight_decay': 0.0}],
                        lr=lr, betas=(0.9, 0.99))

def get_lr(it):  # nanoGPT's
    if it < warmup: return lr * (it + 1) / (warmup + 1)
    if it > decay_iters: return min_lr
    return min_lr + 0.5 * (1.0 + math.cos(math.pi * (it - warmup) / (decay_iters - warmup))) * (lr - min_lr)

@torch.no_grad()
def estimate():
    model.eval()
    out = {k: torch.stack([model(*batch(k)) for _ in range(eval_iters)]).mean().item() for k in ('train', 'val')}
    model.train()
    return out

t0 = time.time()
for it in range(a.max_iters + 1):
    if it == a.max_iters:
        losses = estimate()
        break
    for g in opt.param_groups: g['lr'] = get_lr(it)
    loss = model(*batch('train'))
    loss.backward()
    torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
    opt.step()
    opt.zero_grad(set_to_none=True)
print(json.dumps({'seed': a.seed, 'val_loss': losses['val'], 'train_loss': losses['train'], 'seconds': time.time() - t0,
                  'bias': a.bias, 'gelu': a.gelu, 'decay': a.decay}))
