// Reverse-mode automatic differentiation. Each op that needs a gradient attaches a GradNode to its
// output: the inputs it differentiates through and a function from the output's gradient to theirs,
// written with ordinary tensor ops (so every backend gets gradients for free). backward() walks the
// graph once in reverse topological order.

import { isGradEnabled, keep, noGrad } from './engine.js';
import { shapesEqual, fmtShape } from './shape.js';
import type { Tensor } from './tensor.js';

export interface GradNode {
  readonly name: string;
  readonly inputs: readonly Tensor[];
  /** Gradients for each input (null where an input needs none), given the output's gradient. */
  readonly backward: (grad: Tensor) => readonly (Tensor | null)[];
  /**
   * Set by slice-like views (narrow, split, chunk, select): the output is input[start:end:step]
   * along dim. backward() then writes the gradient into that region of one shared buffer per
   * input, instead of building a full-size zero tensor per slice and summing them.
   */
  slice?: { dim: number; start: number; end: number; step: number };
}

/** Attaches a GradNode to out if grad mode is on and some input requires a gradient. */
export function record(out: Tensor, name: string, inputs: readonly Tensor[], backward: GradNode['backward']): Tensor {
  if (!isGradEnabled()) return out;
  let needed = false;
  for (const t of inputs) if (t.requiresGrad) { needed = true; break; }
  if (!needed) return out;
  out.requiresGrad = true;
  out.gradFn = { name, inputs, backward };
  return out;
}

function topoOrder(root: Tensor): Tensor[] {
  const order: Tensor[] = [];
  const seen = new Set<Tensor>();
  // Iterative DFS: model graphs are deep enough (layers × ops) to overflow a recursive one.
  const stack: [Tensor, number][] = [[root, 0]];
  seen.add(root);
  while (stack.length > 0) {
    const top = stack[stack.length - 1]!;
    const [t, i] = top;
    const inputs = t.gradFn?.inputs ?? [];
    if (i < inputs.length) {
      top[1]++;
      const next = inputs[i]!;
      if (next.requiresGrad && !seen.has(next)) {
        seen.add(next);
        stack.push([next, 0]);
      }
    } else {
      order.push(t);
      stack.pop();
    }
  }
  return order.reverse();
}

export interface BackwardOptions { retainGraph?: boolean }

export function runBackward(root: Tensor, grad: Tensor | undefined, opts: BackwardOptions = {}): void {
  if (!root.requiresGrad) throw new Error('backward: tensor does not require grad and has no grad_fn');
  if (grad === undefined) {
    if (root.numel !== 1) throw new Error(`backward: grad can be implicitly created only for scalar outputs, got shape ${fmtShape(root.shape)}`);
    grad = root.onesLike();
  } else if (!shapesEqual(grad.shape, root.shape)) {
    throw new Error(`backward: grad shape ${fmtShape(grad.shape)} differs from output shape ${fmtShape(root.shape)}`);
  }
  const order = topoOrder(root);
  // Pending gradients, and how many slots hold each tensor object: a backward function may return
  // the same tensor for several inputs (add returns g twice), so a gradient is disposed only when
  // its last holder is done with it. Backward functions must return new tensors or their `grad`
  // argument, never a tensor saved from the forward pass.
  const grads = new Map<Tensor, Tensor>([[root, grad]]);
  const holders = new Map<Tensor, number>([[grad, 2]]); // the caller's grad is never disposed here
  const hold = (g: Tensor) => holders.set(g, (holders.get(g) ?? 0) + 1);
  const drop = (g: Tensor) => {
    const n = (holders.get(g) ?? 1) - 1;
    if (n > 0) holders.set(g, n);
    else { holders.delete(g); g.dispose(); }
  };
  // Buffers made here for slice gradients, with the regions already written (disjoint regions are
  // copied, overlapping ones added).
  const sliceBuffers = new Map<Tensor, { start: number; end: number; dim: number }[]>();
  const sliceInto = (node: GradNode, g: Tensor): boolean => {
    const x = node.inputs[0]!;
    if (!x.requiresGrad) return true;
    const { dim, start, end, step } = node.slice!;
    let buf = grads.get(x);
    if (buf !== undefined && (!sliceBuffers.has(buf) || holders.get(buf) !== 1)) return false; // a dense gradient came first
    if (buf === undefined) {
      buf = x.zerosLike();
      grads.set(x, buf);
      hold(buf);
      sliceBuffers.set(buf, []);
    }
    const written = sliceBuffers.get(buf)!;
    const region = buf.slice(dim, start, end, step);
    const overlaps = written.some((w) => w.dim !== dim || (start < w.end && w.start < end));
    if (overlaps) { const sum = region.add(g); region.copy_(sum); sum.dispose(); }
    else region.copy_(g);
    region.dispose();
    written.push({ start, end: Math.max(end, start + 1), dim });
    return true;
  };
  noGrad(() => {
    for (const t of order) {
      const g = grads.get(t);
      if (g === undefined) continue;
      grads.delete(t);
      const node = t.gradFn;
      // Only a leaf may adopt g as its .grad: a retained non-leaf still passes g on to its inputs,
      // which may hold it (add returns g itself) and dispose it when done.
      if (node === null || t.retainsGrad) accumulateLeaf(t, g, node === null && holders.get(g) === 1);
      if (node !== null) {
        if (node.slice && sliceInto(node, g)) {
          if (!opts.retainGraph) t.gradFn = freedNode(node.name);
          if (t.grad !== g) drop(g); else holders.delete(g);
          continue;
        }
        const inputGrads = node.backward(g);
        for (let i = 0; i < node.inputs.length; i++) {
          const x = node.inputs[i]!;
          const gx = inputGrads[i];
          if (gx === null || gx === undefined || !x.requiresGrad) continue;
          if (!shapesEqual(gx.shape, x.shape)) {
            throw new Error(`backward of ${node.name}: gradient shape ${fmtShape(gx.shape)} differs from input shape ${fmtShape(x.shape)}`);
          }
          const prev = grads.get(x);
          if (prev === undefined) { grads.set(x, gx); hold(gx); }
          else { const sum = prev.add(gx); drop(prev); if (!holders.has(gx)) gx.dispose(); grads.set(x, sum); hold(sum); }
        }
        if (!opts.retainGraph) t.gradFn = freedNode(node.name);
      }
      if (t.grad !== g) drop(g);
      else holders.delete(g);
    }
  });
}

/**
 * What a node becomes once backward has run through it without retainGraph: it lets its inputs go
 * (so the graph can be collected) but stays a non-leaf, so that a second backward is an error, as in
 * torch, instead of silently treating the intermediate as a leaf and skipping the real ones.
 */
function freedNode(name: string): GradNode {
  return { name, inputs: [], backward: () => {
    throw new Error(`backward: trying to backward through the graph a second time (${name} was already freed); ` +
      'pass { retainGraph: true } to the first backward() to keep it');
  } };
}

/** Adds g into t.grad. `owned`: g is held by nobody else, so it may become t.grad itself. */
function accumulateLeaf(t: Tensor, g: Tensor, owned: boolean): void {
  if (t.grad === null) {
    t.grad = keep(!g.isContiguous() ? g.contiguous() : owned ? g : g.clone());
  } else {
    const sum = t.grad.add(g);
    t.grad.dispose();
    t.grad = keep(sum);
  }
}
