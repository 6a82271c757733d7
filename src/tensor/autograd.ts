// Reverse-mode automatic differentiation. Each op that needs a gradient attaches a GradNode to its
// output: the inputs it differentiates through, the other tensors its backward reads (saved), and a
// function from the output's gradient to theirs, written with ordinary tensor ops (so every backend
// gets gradients for free). backward() walks the graph once in reverse topological order.
//
// The graph owns what it needs. Attaching a node holds its inputs and saved tensors (Tensor.graphRefs);
// a tensor disposed while held (by tidy, or by hand) becomes unusable but keeps its storage until
// the last node holding it lets go: when backward() has run through that node (without retainGraph),
// or when the node's own tensor is freed. Freeing cascades down the graph. So
// tidy(() => loss(x)).backward() gives the same gradients as loss(x).backward(), and a loss that is
// disposed without backward() frees its whole graph.

import { isGradEnabled, keep, noGrad, readingGraph, tidy } from './engine.js';
import { shapesEqual, fmtShape } from './shape.js';
import type { Tensor } from './tensor.js';

export interface GradNode {
  readonly name: string;
  readonly inputs: readonly Tensor[];
  /**
   * Tensors other than the inputs and the output that backward reads (an op's saved statistics,
   * index tensors, casts): the node holds them, so the op may dispose its handles at once.
   */
  readonly saved?: readonly Tensor[];
  /** Gradients for each input (null where an input needs none), given the output's gradient. */
  readonly backward: (grad: Tensor) => readonly (Tensor | null)[];
  /**
   * Set by slice-like views (narrow, split, chunk, select): the output is input[start:end:step]
   * along dim. backward() then writes the gradient into that region of one shared buffer per
   * input, instead of building a full-size zero tensor per slice and summing them.
   */
  slice?: { dim: number; start: number; end: number; step: number };
}

/**
 * Attaches a GradNode to out if grad mode is on and some input requires a gradient. `saved`: every
 * tensor besides inputs and out that backward reads; a tensor backward reads but that is not listed
 * here may be freed before backward runs.
 */
export function record(out: Tensor, name: string, inputs: readonly Tensor[], backward: GradNode['backward'],
                       saved?: readonly (Tensor | null)[]): Tensor {
  if (!isGradEnabled()) return out;
  let needed = false;
  for (const t of inputs) if (t.requiresGrad) { needed = true; break; }
  if (!needed) return out;
  out.requiresGrad = true;
  // The node's own copy of the list: its holds are counted on it, and a caller's array (cat's) may change.
  const held = inputs.slice(), kept = saved?.filter((t): t is Tensor => t !== null);
  out.gradFn = kept !== undefined && kept.length > 0 ? { name, inputs: held, saved: kept, backward } : { name, inputs: held, backward };
  return out;
}

// ---- the graph's hold on tensors ----

/** Called when node becomes owner's gradFn: the node holds its inputs and saved tensors. */
export function holdGraph(node: GradNode, owner: Tensor): void {
  for (const t of node.inputs) if (t !== owner) t.graphRefs++;
  if (node.saved !== undefined) for (const t of node.saved) if (t !== owner) t.graphRefs++;
}

/**
 * Called when owner lets go of node (backward ran through it, the tensor was freed, or its gradFn
 * was replaced): every held tensor that was disposed and is no longer needed is freed, and so on
 * down the graph (a worklist, not recursion: model graphs are thousands of nodes deep).
 */
export function dropGraph(node: GradNode, owner: Tensor): void {
  const free: Tensor[] = [];
  const drop = (n: GradNode, o: Tensor) => {
    for (const t of n.inputs) if (t !== o && --t.graphRefs === 0 && t.isDisposed) free.push(t);
    if (n.saved !== undefined) for (const t of n.saved) if (t !== o && --t.graphRefs === 0 && t.isDisposed) free.push(t);
  };
  drop(node, owner);
  while (free.length > 0) {
    const t = free.pop()!;
    const n = t.freeStorage();
    if (n !== null) drop(n, t);
  }
}

/** A running backward pass lets go of t (see the pins in runBackward). */
function unpin(t: Tensor): void {
  if (--t.graphRefs === 0 && t.isDisposed) {
    const n = t.freeStorage();
    if (n !== null) dropGraph(n, t);
  }
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
  if (root.isDisposed) throw new Error(`backward: tensor ${root.describe()} was disposed; call backward() before dispose()`);
  if (!root.requiresGrad) throw new Error('backward: tensor does not require grad and has no grad_fn');
  const callerGrad = grad;
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
  const holders = new Map<Tensor, number>([[grad, callerGrad === undefined ? 1 : 2]]); // the caller's grad is never disposed here
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
  const step = (t: Tensor) => {
    const g = grads.get(t);
    if (g === undefined) return;
    grads.delete(t);
    const node = t.gradFn;
    // Unreachable while the graph's holds are right (a held tensor keeps its storage); a guard
    // so that a bug there is an error rather than a silently missing gradient.
    if (t.isFreed) throw new Error(`backward: ${node?.name ?? 'leaf'} tensor ${t.describe()} was freed while the graph still needed it`);
    // Only a leaf may adopt g as its .grad: a retained non-leaf still passes g on to its inputs,
    // which may hold it (add returns g itself) and dispose it when done. A disposed tensor's
    // gradient could never be read: it is not stored.
    if ((node === null || t.retainsGrad) && !t.isDisposed) accumulateLeaf(t, g, node === null && holders.get(g) === 1);
    if (node !== null) {
      if (node.slice && sliceInto(node, g)) {
        if (!opts.retainGraph) t.gradFn = freedNode(node.name);
        if (t.grad !== g) drop(g); else holders.delete(g);
        return;
      }
      // The backward function's temporaries are freed at once (only the gradients leave).
      let inputGrads: readonly (Tensor | null)[];
      try {
        inputGrads = tidy(() => node.backward(g));
      } catch (err) {
        const msg = err instanceof Error ? err.message : String(err);
        throw new Error(msg.startsWith('backward') ? msg : `backward of ${node.name} (output ${t.describe()}): ${msg}`, { cause: err });
      }
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
  };
  // The pass pins every tensor it will visit: freeing a node after its backward lets go of its
  // inputs, and one that was disposed must keep its storage (and its own node) until visited.
  for (const t of order) t.graphRefs++;
  let next = 0;
  try {
    readingGraph(() => noGrad(() => {
      for (; next < order.length; next++) { step(order[next]!); unpin(order[next]!); }
    }));
  } finally {
    for (; next < order.length; next++) unpin(order[next]!);
    // After an error: the gradients still pending are nobody's.
    for (const g of new Set(grads.values())) if (g !== callerGrad) g.dispose();
  }
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
