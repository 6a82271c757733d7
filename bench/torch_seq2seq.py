#!/usr/bin/python3
"""PyTorch reference for bench/sections/seq2seq.ts: the Multi30k recipe's MarianMT-layout
Transformer (post-norm, sinusoidal positions, embeddings scaled by sqrt(d), one shared table tied to
the output projection plus final_logits_bias) written out in plain PyTorch (no HF transformers),
loaded from the checkpoint tlm wrote, so that both sides hold the same weights. Prints one JSON line.

    /usr/bin/python3 bench/torch_seq2seq.py --spec SPEC.json --threads 2

SPEC.json, written by the section:
  model_dir: config.json + model.safetensors in HF's Marian layout;
  beam:  sources (token ids, EOS included), batch_size, num_beams, length_penalty, max_over_source
         (each source gets at most its length + this many new tokens, capped by the positions),
         warmup_sources;
  train: batches (input_ids, attention_mask, decoder_input_ids, decoder_attention_mask, labels as
         tlm's seq2seq task collates them; labels -100 on padding), warmup (batches not timed),
         lr, betas, weight_decay, label_smoothing, grad_clip.

Beam search follows tlm's (HF's) rules: 2*num_beams candidates per source, a hypothesis finishes on
EOS or at its length limit only when it ranks among the best num_beams, score = sum of log-probs /
length ** length_penalty, a source is done when no running beam can beat its worst finished one.
Self-attention keys/values are cached; cross-attention keys/values are computed once per source and
its beams read them together (their queries side by side, as tlm does).
"""
import argparse
import json
import math
import struct
import time

import numpy as np
import torch
import torch.nn.functional as F

NEG = torch.finfo(torch.float32).min
ACT = {'relu': F.relu, 'gelu': F.gelu, 'swish': F.silu, 'silu': F.silu}


def load_safetensors(path):
    with open(path, 'rb') as f:
        n = struct.unpack('<Q', f.read(8))[0]
        header = json.loads(f.read(n))
        data = f.read()
    out = {}
    for k, v in header.items():
        if k == '__metadata__':
            continue
        if v['dtype'] != 'F32':
            raise ValueError(f'{path}: {k} is {v["dtype"]}, expected F32')
        a, b = v['data_offsets']
        out[k] = torch.from_numpy(np.frombuffer(data[a:b], dtype=np.float32).copy()).view(v['shape'])
    return out


def sinusoids(n, d):
    """HF Marian's table: sines in the first ceil(d/2) columns, cosines after them."""
    pos = np.arange(n)[:, None]
    sin_cols, cos_cols = (d + 1) // 2, d // 2
    t = np.zeros((n, d))
    t[:, :sin_cols] = np.sin(pos / np.power(10000, 2 * np.arange(sin_cols) / d))
    t[:, sin_cols:] = np.cos(pos / np.power(10000, 2 * np.arange(cos_cols) / d))
    return torch.tensor(t, dtype=torch.float32)


class Attention(torch.nn.Module):
    def __init__(self, d, h):
        super().__init__()
        self.h, self.dh = h, d // h
        self.k_proj, self.v_proj = torch.nn.Linear(d, d), torch.nn.Linear(d, d)
        self.q_proj, self.out_proj = torch.nn.Linear(d, d), torch.nn.Linear(d, d)

    def heads(self, x):
        B, T, _ = x.shape
        return x.view(B, T, self.h, self.dh).transpose(1, 2)

    def kv(self, x):
        return self.heads(self.k_proj(x)), self.heads(self.v_proj(x))

    def forward(self, x, kv, mask):
        """x [Bq, L, d] reads kv ([Bk, H, S, Dh] each) with an additive mask; Bq = Bk * group (beams)."""
        Bq, L, d = x.shape
        q = self.heads(self.q_proj(x)) * (self.dh ** -0.5)
        k, v = kv
        Bk, g = k.shape[0], Bq // k.shape[0]
        if g > 1:  # a source's beams: their queries side by side over its keys
            q = q.view(Bk, g, self.h, L, self.dh).transpose(1, 2).reshape(Bk, self.h, g * L, self.dh)
        s = q @ k.transpose(-1, -2)
        if mask is not None:
            s = s + mask
        y = s.softmax(-1) @ v
        if g > 1:
            y = y.view(Bk, self.h, g, L, self.dh).transpose(1, 2).reshape(Bq, self.h, L, self.dh)
        return self.out_proj(y.transpose(1, 2).reshape(Bq, L, d))


class Layer(torch.nn.Module):
    def __init__(self, c, decoder):
        super().__init__()
        d, ffn = c['d_model'], c['decoder_ffn_dim' if decoder else 'encoder_ffn_dim']
        h = c['decoder_attention_heads' if decoder else 'encoder_attention_heads']
        self.p, self.act = c['dropout'], ACT[c['activation_function']]
        self.self_attn, self.self_attn_layer_norm = Attention(d, h), torch.nn.LayerNorm(d)
        if decoder:
            self.encoder_attn, self.encoder_attn_layer_norm = Attention(d, h), torch.nn.LayerNorm(d)
        self.fc1, self.fc2, self.final_layer_norm = torch.nn.Linear(d, ffn), torch.nn.Linear(ffn, d), torch.nn.LayerNorm(d)

    def drop(self, x):
        return F.dropout(x, self.p, self.training)

    def forward(self, x, self_mask, past=None, cross=None, cross_mask=None):
        """Post-norm: x = LayerNorm(x + Dropout(sublayer(x))). Returns x and the self-attention keys/values."""
        k, v = self.self_attn.kv(x)
        if past is not None:
            k, v = torch.cat([past[0], k], 2), torch.cat([past[1], v], 2)
        x = self.self_attn_layer_norm(x + self.drop(self.self_attn(x, (k, v), self_mask)))
        if cross is not None:
            x = self.encoder_attn_layer_norm(x + self.drop(self.encoder_attn(x, cross, cross_mask)))
        x = self.final_layer_norm(x + self.drop(self.fc2(self.act(self.fc1(x)))))
        return x, (k, v)


class Marian(torch.nn.Module):
    def __init__(self, c):
        super().__init__()
        self.c = c
        self.shared = torch.nn.Embedding(c['vocab_size'], c['d_model'], padding_idx=c['pad_token_id'])
        self.enc = torch.nn.ModuleList([Layer(c, False) for _ in range(c['encoder_layers'])])
        self.dec = torch.nn.ModuleList([Layer(c, True) for _ in range(c['decoder_layers'])])
        self.register_buffer('pos', sinusoids(c['max_position_embeddings'], c['d_model']))
        self.register_buffer('final_logits_bias', torch.zeros(1, c['vocab_size']))
        self.scale = math.sqrt(c['d_model']) if c.get('scale_embedding') else 1.0

    def load(self, sd):
        own = {'shared.weight': 'model.shared.weight', 'final_logits_bias': 'final_logits_bias', 'pos': 'model.encoder.embed_positions.weight'}
        for name, p in list(self.named_parameters()) + list(self.named_buffers()):
            key = own.get(name) or name.replace('enc.', 'model.encoder.layers.', 1).replace('dec.', 'model.decoder.layers.', 1)
            if key in sd:
                p.data.copy_(sd[key].view(p.shape))
            elif name != 'pos':
                raise KeyError(f'model.safetensors has no {key}')

    def embed(self, ids, past=0):
        x = self.shared(ids) * self.scale + self.pos[past:past + ids.shape[1]]
        return F.dropout(x, self.c['dropout'], self.training)

    def encode(self, ids, mask):
        keep = mask[:, None, None, :].to(torch.float32)
        add = (1 - keep) * NEG
        x = self.embed(ids)
        for layer in self.enc:
            x, _ = layer(x, add)
        return x, add

    def logits(self, h):
        return F.linear(h, self.shared.weight) + self.final_logits_bias

    def forward(self, b):
        """Teacher-forced logits [B, T, V] for one collated batch."""
        memory, src_mask = self.encode(b['input_ids'], b['attention_mask'])
        T = b['decoder_input_ids'].shape[1]
        causal = torch.full((T, T), NEG).triu(1)
        pad = (1 - b['decoder_attention_mask'][:, None, None, :].to(torch.float32)) * NEG
        self_mask = (causal + pad).clamp(min=NEG)
        x = self.embed(b['decoder_input_ids'])
        for layer in self.dec:
            x, _ = layer(x, self_mask, cross=layer.encoder_attn.kv(memory), cross_mask=src_mask)
        return self.logits(x)


@torch.no_grad()
def beam_search(model, sources, nb, lp, over, eos, pad, start):
    """Batched beam search over sources (lists of ids); returns each source's best hypothesis."""
    c = model.c
    B, S = len(sources), max(len(s) for s in sources)
    ids = torch.full((B, S), pad, dtype=torch.long)
    mask = torch.zeros(B, S, dtype=torch.long)
    for b, s in enumerate(sources):
        ids[b, :len(s)] = torch.tensor(s)
        mask[b, :len(s)] = 1
    memory, src_mask = model.encode(ids, mask)
    cross = [layer.encoder_attn.kv(memory) for layer in model.dec]  # once per source, shared by its beams
    room = c['max_position_embeddings'] - 1
    max_new = [min(len(s) + over, room) for s in sources]
    rows, keep, V = B * nb, 2 * nb, c['vocab_size']
    gen = [[] for _ in range(rows)]
    beam_scores = torch.tensor([0.0 if r % nb == 0 else -1e9 for r in range(rows)])
    finished = [[] for _ in range(B)]
    improvable = [True] * B
    past = [None] * len(model.dec)
    tokens = torch.full((rows, 1), start, dtype=torch.long)
    length = 0
    while True:
        x = model.embed(tokens, length)
        for i, layer in enumerate(model.dec):
            x, past[i] = layer(x, None, past[i], cross[i], src_mask)
        length += 1  # generated length after this step's token
        logp = model.logits(x[:, -1]).log_softmax(-1)
        top_s, top_i = (logp + beam_scores[:, None]).view(B, nb * V).topk(keep, dim=1)
        top_s, top_i = top_s.tolist(), top_i.tolist()
        next_rows, next_tokens, next_scores = [], [], []
        all_stopped = True
        for b in range(B):
            cands = [(s, i // V, i % V) for s, i in zip(top_s[b], top_i[b])]
            stopped = [t == eos or length >= max_new[b] for _, _, t in cands]
            all_stopped = all_stopped and all(stopped)
            fin = finished[b]
            if improvable[b]:
                for i, (s, beam, t) in enumerate(cands[:nb]):
                    if stopped[i]:
                        fin.append((gen[b * nb + beam] + [t], s / length ** lp))
                fin.sort(key=lambda h: -h[1])
                del fin[nb:]
            order = [i for i in range(keep) if not stopped[i]] + [i for i in range(keep) if stopped[i]]
            for i in order[:nb]:
                s, beam, t = cands[i]
                next_rows.append(b * nb + beam)
                next_tokens.append(t)
                next_scores.append(s if not stopped[i] else s - 1e9)
            worst = fin[nb - 1][1] if len(fin) >= nb else -1e9
            improvable[b] = improvable[b] and next_scores[b * nb] / length ** lp > worst
        if all_stopped or not any(improvable):
            break
        gen = [gen[r] + [t] for r, t in zip(next_rows, next_tokens)]
        beam_scores = torch.tensor(next_scores)
        order = torch.tensor(next_rows)
        past = [(k.index_select(0, order), v.index_select(0, order)) for k, v in past]
        tokens = torch.tensor(next_tokens)[:, None]
    return [f[0][0] for f in finished]


def translate_all(model, spec, sources, over):
    c, out = model.c, []
    for i in range(0, len(sources), spec['batch_size']):
        out += beam_search(model, sources[i:i + spec['batch_size']], spec['num_beams'], spec['length_penalty'], over,
                           c['eos_token_id'], c['pad_token_id'], c['decoder_start_token_id'])
    return out


def bench_beam(model, spec):
    model.eval()
    translate_all(model, spec, spec['sources'][:spec['warmup_sources']], 2)  # warm up: threads, allocator
    t0 = time.perf_counter()
    hyps = translate_all(model, spec, spec['sources'], spec['max_over_source'])
    return len(spec['sources']) / (time.perf_counter() - t0), hyps


def bench_train(model, spec):
    model.train()
    decay = [p for n, p in model.named_parameters() if p.dim() >= 2 and n != 'shared.weight']
    rest = [p for n, p in model.named_parameters() if not (p.dim() >= 2 and n != 'shared.weight')]
    opt = torch.optim.AdamW([{'params': decay, 'weight_decay': spec['weight_decay']}, {'params': rest, 'weight_decay': 0.0}],
                            lr=spec['lr'], betas=tuple(spec['betas']))
    batches = [{k: torch.tensor(v, dtype=torch.long) for k, v in b.items()} for b in spec['batches']]
    tokens, t0 = 0, None
    for i, b in enumerate(batches):
        if i == spec['warmup']:
            t0 = time.perf_counter()
        logits = model(b)
        loss = F.cross_entropy(logits.view(-1, logits.shape[-1]), b['labels'].view(-1), ignore_index=-100,
                               label_smoothing=spec['label_smoothing'])
        opt.zero_grad(set_to_none=True)
        loss.backward()
        if spec['grad_clip'] > 0:
            torch.nn.utils.clip_grad_norm_(model.parameters(), spec['grad_clip'])
        opt.step()
        if i >= spec['warmup']:
            tokens += int((b['labels'] != -100).sum())
    return tokens / (time.perf_counter() - t0), float(loss)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--spec', required=True)
    ap.add_argument('--threads', type=int, required=True)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    with open(a.spec) as f:
        spec = json.load(f)
    with open(f"{spec['model_dir']}/config.json") as f:
        c = json.load(f)
    if not (c.get('share_encoder_decoder_embeddings', True) and c.get('tie_word_embeddings', True)):
        raise ValueError('torch_seq2seq.py: only shared, tied embeddings (the recipe\'s model)')
    model = Marian(c)
    model.load(load_safetensors(f"{spec['model_dir']}/model.safetensors"))
    # Beam search first: it runs on the weights both sides loaded (training changes them).
    sentences_per_s, hyps = bench_beam(model, spec['beam'])
    tokens_per_s, loss = bench_train(model, spec['train'])
    print(json.dumps({'train_tokens_per_s': tokens_per_s, 'train_last_loss': loss, 'beam_sentences_per_s': sentences_per_s,
                      'hypotheses': hyps, 'threads': torch.get_num_threads(), 'torch': torch.__version__}))


if __name__ == '__main__':
    main()
