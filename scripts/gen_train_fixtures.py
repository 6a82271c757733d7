#!/usr/bin/env python3
"""Reference trajectories of torch.optim optimizers and lr schedules for test/train_optim.test.ts.

Run with Debian's torch: /usr/bin/python3 scripts/gen_train_fixtures.py
Writes test/fixtures/train/optimizers.json (small: 2 parameters, 5 steps each).
"""
import json, math, os
import torch

torch.manual_seed(0)
root = os.path.join(os.path.dirname(__file__), '..', 'test', 'fixtures', 'train')
os.makedirs(root, exist_ok=True)

w0 = torch.randn(3, 4)
b0 = torch.randn(4)
grads = [(torch.randn(3, 4), torch.randn(4)) for _ in range(5)]

def run(make):
    w = w0.clone().requires_grad_(True)
    b = b0.clone().requires_grad_(True)
    opt = make([w, b])
    traj = []
    for gw, gb in grads:
        w.grad = gw.clone(); b.grad = gb.clone()
        opt.step()
        traj.append({'w': w.detach().flatten().tolist(), 'b': b.detach().flatten().tolist()})
    return traj

cases = {
    'sgd': (lambda p: torch.optim.SGD(p, lr=0.1), {'lr': 0.1}),
    'sgd_momentum': (lambda p: torch.optim.SGD(p, lr=0.1, momentum=0.9, weight_decay=0.01), {'lr': 0.1, 'momentum': 0.9, 'weightDecay': 0.01}),
    'sgd_nesterov': (lambda p: torch.optim.SGD(p, lr=0.1, momentum=0.9, nesterov=True), {'lr': 0.1, 'momentum': 0.9, 'nesterov': True}),
    'adam': (lambda p: torch.optim.Adam(p, lr=0.01, betas=(0.9, 0.99), weight_decay=0.1), {'lr': 0.01, 'betas': [0.9, 0.99], 'weightDecay': 0.1}),
    'adamw': (lambda p: torch.optim.AdamW(p, lr=0.01, betas=(0.9, 0.99), weight_decay=0.1), {'lr': 0.01, 'betas': [0.9, 0.99], 'weightDecay': 0.1}),
}
out = {'w0': w0.flatten().tolist(), 'b0': b0.flatten().tolist(),
       'grads': [{'w': gw.flatten().tolist(), 'b': gb.flatten().tolist()} for gw, gb in grads], 'cases': {}}
for name, (make, opts) in cases.items():
    out['cases'][name] = {'options': opts, 'trajectory': run(make)}

# clip_grad_norm_
gw, gb = grads[0][0].clone(), grads[0][1].clone()
pw = torch.zeros(3, 4, requires_grad=True); pb = torch.zeros(4, requires_grad=True)
pw.grad, pb.grad = gw.clone(), gb.clone()
norm = torch.nn.utils.clip_grad_norm_([pw, pb], 1.0)
out['clip'] = {'max_norm': 1.0, 'norm': norm.item(), 'w': pw.grad.flatten().tolist(), 'b': pb.grad.flatten().tolist()}

# Noam schedule via LambdaLR, as in the annotated Transformer
d, warm = 512, 400
out['noam'] = [{'step': s, 'lr': d ** -0.5 * min((s + 1) ** -0.5, (s + 1) * warm ** -1.5)} for s in (0, 10, 399, 400, 1000)]

with open(os.path.join(root, 'optimizers.json'), 'w') as f:
    json.dump(out, f)
print('wrote', os.path.join(root, 'optimizers.json'))
