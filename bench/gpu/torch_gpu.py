#!/usr/bin/env python3
"""PyTorch's side of the GPU comparison (issue #13, acceptance point 3); bench/gpu/tlm_gpu.ts is
tlm's. Same shapes, same protocol, fp32 with TF32 off, eager (no torch.compile), dropout 0:

  matmul  N×N·N×N (N = 4096), GFLOP/s;
  train   GPT-2 small (learned positions, pre-norm blocks with biases, gelu_new, tied lm_head):
          forward, cross-entropy, backward, AdamW step, zero grads on a fixed B×T batch, tokens/s;
  decode  batch-1 greedy generation (P-token prompt, G new tokens): HF transformers' generate on
          GPT2LMHeadModel(GPT2Config(...)) when transformers is installed, and always a hand-written
          KV-cache greedy loop over the model above (labelled 'torch_kv_loop').

One JSON line per measurement, printed as soon as it is done.

  python3 bench/gpu/torch_gpu.py [--quick] [--device cuda|cpu] [--only matmul,train,decode]
"""
import argparse, json, math, sys, time

import torch
import torch.nn as nn
import torch.nn.functional as F

# The shapes of each mode; bench/gpu/tlm_gpu.ts has the same table (keep them in step).
SHAPES = {
    'full': dict(matmul_n=4096, vocab=50257, n_positions=1024, n_embd=768, n_layer=12, n_head=12,
                 batch=8, block=1024, prompt=32, new_tokens=128, matmul_s=2.0, train_s=10.0, decode_s=6.0),
    'quick': dict(matmul_n=256, vocab=512, n_positions=128, n_embd=128, n_layer=2, n_head=4,
                  batch=2, block=64, prompt=8, new_tokens=16, matmul_s=0.5, train_s=1.0, decode_s=1.0),
}
MEASURES = ('matmul', 'train', 'decode')

p = argparse.ArgumentParser()
p.add_argument('--quick', action='store_true')
p.add_argument('--device', default='cuda')
p.add_argument('--only', default=','.join(MEASURES))
a = p.parse_args()
only = [m for m in a.only.split(',') if m]
for m in only:
    if m not in MEASURES:
        sys.exit(f"--only: unknown measurement '{m}', expected some of {','.join(MEASURES)}")
S = SHAPES['quick' if a.quick else 'full']
dev = torch.device(a.device)

# fp32 as the acceptance asks: no TF32 in matmuls or convolutions.
torch.backends.cuda.matmul.allow_tf32 = False
torch.backends.cudnn.allow_tf32 = False
if hasattr(torch, 'set_float32_matmul_precision'):
    torch.set_float32_matmul_precision('highest')
if dev.type == 'cpu':
    torch.set_num_threads(2)  # a shared machine: smoke tests only
torch.manual_seed(0)
HAS_SDPA = hasattr(F, 'scaled_dot_product_attention')  # torch >= 2.0
DEVICE_NAME = torch.cuda.get_device_name(dev) if dev.type == 'cuda' else 'cpu'


def sync():
    if dev.type == 'cuda':
        torch.cuda.synchronize(dev)


def time_reps(once, seconds, max_reps):
    """Seconds per call: one synchronized call sets the count that fills `seconds`; those run back to back."""
    t0 = time.perf_counter(); once(); sync()
    first = time.perf_counter() - t0
    if first >= seconds:  # a call that alone fills the time is its own measurement
        return first, 1
    reps = max(1, min(max_reps, int(seconds / max(first, 1e-4))))
    t0 = time.perf_counter()
    for _ in range(reps):
        once()
    sync()
    return (time.perf_counter() - t0) / reps, reps


def bench_matmul():
    n = S['matmul_n']
    x, y = torch.randn(n, n, device=dev), torch.randn(n, n, device=dev)
    x @ y; sync()
    secs, reps = time_reps(lambda: x @ y, S['matmul_s'], 500)
    ref = (x[5].double() * y[:, 7].double()).sum().item()
    err = abs((x @ y)[5, 7].item() - ref)
    return dict(shape=[n, n, n], gflops=2 * n ** 3 / secs / 1e9, ms=secs * 1e3, reps=reps, check_abs_err=err,
                tf32=torch.backends.cuda.matmul.allow_tf32)


class Block(nn.Module):
    def __init__(s, d, h):
        super().__init__()
        s.h = h
        s.ln_1, s.ln_2 = nn.LayerNorm(d), nn.LayerNorm(d)
        s.c_attn, s.c_proj = nn.Linear(d, 3 * d), nn.Linear(d, d)
        s.c_fc, s.mlp_proj = nn.Linear(d, 4 * d), nn.Linear(4 * d, d)

    def attend(s, q, k, v, causal):
        if HAS_SDPA:
            return F.scaled_dot_product_attention(q, k, v, is_causal=causal)
        # torch 1.13 (the CPU smoke test) predates SDPA: the classic masked softmax.
        att = (q @ k.transpose(-2, -1)) * (1.0 / math.sqrt(k.size(-1)))
        if causal:
            T = q.size(-2)
            att = att.masked_fill(torch.ones(T, T, dtype=torch.bool, device=q.device).triu(1), float('-inf'))
        return F.softmax(att, dim=-1) @ v

    def forward(s, x, past=None):
        B, T, C = x.shape
        q, k, v = s.c_attn(s.ln_1(x)).split(C, dim=2)
        q, k, v = (t.view(B, T, s.h, C // s.h).transpose(1, 2) for t in (q, k, v))
        if past is not None:
            k, v = torch.cat([past[0], k], 2), torch.cat([past[1], v], 2)
        # With a cache, only the prompt's pass (T > 1, nothing cached) needs the causal mask.
        y = s.attend(q, k, v, causal=past is None and T > 1)
        x = x + s.c_proj(y.transpose(1, 2).contiguous().view(B, T, C))
        return x + s.mlp_proj(F.gelu(s.c_fc(s.ln_2(x)), approximate='tanh')), (k, v)


class GPT(nn.Module):
    def __init__(s):
        super().__init__()
        d = S['n_embd']
        s.wte, s.wpe = nn.Embedding(S['vocab'], d), nn.Embedding(S['n_positions'], d)
        s.h = nn.ModuleList([Block(d, S['n_head']) for _ in range(S['n_layer'])])
        s.ln_f = nn.LayerNorm(d)
        for name, w in s.named_parameters():  # GPT-2's init (speed does not depend on it; sane losses do)
            if w.dim() == 2:
                nn.init.normal_(w, 0, 0.02 / (math.sqrt(2 * S['n_layer']) if name.endswith('c_proj.weight') or name.endswith('mlp_proj.weight') else 1))

    def forward(s, idx, past=None):
        start = 0 if past is None else past[0][0].size(2)
        x = s.wte(idx) + s.wpe(torch.arange(start, start + idx.size(1), device=idx.device))
        present = []
        for i, b in enumerate(s.h):
            x, kv = b(x, None if past is None else past[i])
            present.append(kv)
        return s.ln_f(x) @ s.wte.weight.t(), present  # the tied head


def bench_train():
    model = GPT().to(dev).train()
    V = S['vocab']
    g = torch.Generator(device='cpu').manual_seed(1)
    x = torch.randint(0, V, (S['batch'], S['block']), generator=g).to(dev)
    y = torch.randint(0, V, (S['batch'], S['block']), generator=g).to(dev)
    opt = torch.optim.AdamW(model.parameters(), lr=6e-4, betas=(0.9, 0.95), weight_decay=0.1)
    kept = {}

    def step():
        logits, _ = model(x)
        loss = F.cross_entropy(logits.view(-1, V), y.view(-1))
        loss.backward()
        opt.step()
        opt.zero_grad(set_to_none=True)
        kept['loss'] = loss.detach()

    t0 = time.perf_counter(); step()
    first_loss = kept['loss'].item()
    first_s = time.perf_counter() - t0
    step(); sync()
    secs, reps = time_reps(step, S['train_s'], 50)
    out = dict(batch=[S['batch'], S['block']], params=sum(q.numel() for q in model.parameters()),
               tokens_per_s=S['batch'] * S['block'] / secs, ms_per_step=secs * 1e3, steps=reps, first_step_s=first_s,
               loss_first=first_loss, loss_last=kept['loss'].item(), attention='sdpa' if HAS_SDPA else 'masked softmax',
               adamw='foreach default', peak_gpu_bytes=torch.cuda.max_memory_allocated(dev) if dev.type == 'cuda' else None)
    del model, opt, kept
    return out


def time_decode(run, expect_len):
    """Tokens/s of `run` (returns the full sequence): a warm-up run, one timed run to size the count, then the count."""
    t0 = time.perf_counter(); first = run(); sync()
    first_s = time.perf_counter() - t0
    t0 = time.perf_counter(); last = run(); sync()
    secs, reps = time.perf_counter() - t0, 1
    if secs < S['decode_s']:
        reps = min(10, int(S['decode_s'] / secs))
        t0 = time.perf_counter()
        for _ in range(reps):
            last = run()
        sync()
        secs = (time.perf_counter() - t0) / reps
    new = len(last) - S['prompt']
    if len(last) != expect_len:
        raise RuntimeError(f'generated {new} tokens, expected {S["new_tokens"]}')
    return dict(prompt=S['prompt'], new_tokens=new, tokens_per_s=new / secs, ms_per_token=secs * 1e3 / new, runs=reps,
                first_run_s=first_s, deterministic=first == last)


def bench_decode_kv_loop():
    """Greedy decoding with a KV cache in plain PyTorch: one forward pass per new token, as HF's generate."""
    model = GPT().to(dev).eval()
    g = torch.Generator(device='cpu').manual_seed(2)
    prompt = torch.randint(0, S['vocab'], (1, S['prompt']), generator=g).to(dev)

    @torch.no_grad()
    def run():
        ids, past, out = prompt, None, [prompt]
        for _ in range(S['new_tokens']):
            logits, past = model(ids, past)
            ids = logits[:, -1].argmax(-1, keepdim=True)
            out.append(ids)
        return torch.cat(out, 1)[0].tolist()

    return dict(impl='torch_kv_loop', **time_decode(run, S['prompt'] + S['new_tokens']))


def bench_decode_hf():
    import transformers
    from transformers import GPT2Config, GPT2LMHeadModel
    transformers.logging.set_verbosity_error()
    # No EOS: random weights may pick GPT-2's 50256; every run makes exactly new_tokens tokens.
    cfg = GPT2Config(vocab_size=S['vocab'], n_positions=S['n_positions'], n_embd=S['n_embd'], n_layer=S['n_layer'],
                     n_head=S['n_head'], resid_pdrop=0.0, embd_pdrop=0.0, attn_pdrop=0.0, bos_token_id=None, eos_token_id=None)
    model = GPT2LMHeadModel(cfg).to(dev).eval()
    model.generation_config.eos_token_id = None
    model.generation_config.pad_token_id = 0
    g = torch.Generator(device='cpu').manual_seed(2)
    prompt = torch.randint(0, S['vocab'], (1, S['prompt']), generator=g).to(dev)
    mask = torch.ones_like(prompt)

    def run():
        # time_decode checks the length: an EOS that some version put back would show as an error.
        return model.generate(prompt, attention_mask=mask, max_new_tokens=S['new_tokens'], do_sample=False,
                              pad_token_id=0)[0].tolist()

    attn = getattr(model.config, '_attn_implementation', None)
    return dict(impl='hf_generate', transformers=transformers.__version__, attn_implementation=attn,
                dtype=str(next(model.parameters()).dtype), params=sum(q.numel() for q in model.parameters()),
                **time_decode(run, S['prompt'] + S['new_tokens']))


def emit(measure, fn):
    t0 = time.perf_counter()
    try:
        r = fn()
    except Exception as e:  # one measurement failing must not lose the others
        r = dict(error=f'{type(e).__name__}: {str(e).splitlines()[0] if str(e) else ""}')
    print(json.dumps(dict(side='torch', measure=measure, quick=a.quick, device=DEVICE_NAME, torch=torch.__version__,
                          **r, wall_s=time.perf_counter() - t0)), flush=True)
    if dev.type == 'cuda':
        torch.cuda.empty_cache()


if 'matmul' in only:
    emit('matmul', bench_matmul)
if 'train' in only:
    emit('train', bench_train)
if 'decode' in only:
    try:
        import transformers  # noqa: F401
        emit('decode', bench_decode_hf)
    except ImportError:
        print(json.dumps(dict(side='torch', measure='decode', device=DEVICE_NAME, impl='hf_generate',
                              error='transformers is not installed: only the hand-written KV-cache loop was measured')), flush=True)
    emit('decode_kv_loop', bench_decode_kv_loop)
