// toString() in PyTorch's style: tensor([[1.0000, 2.0000], ...], requires_grad=True).

import type { Tensor } from './tensor.js';

const EDGE = 3;
const THRESHOLD = 1000;

export function formatTensor(t: Tensor): string {
  if (t.isDisposed) return `tensor(<disposed> ${t.describe()})`;
  if (t.device !== 'cpu') return `tensor(<on ${t.device}: use await t.data()> shape=[${t.shape.join(', ')}], dtype=${t.dtype})`;
  const data = t.dataSync();
  const summarize = t.numel > THRESHOLD;
  const fmt = makeFormatter(t, data, summarize);
  const body = formatDims(t.shape, data, 0, 0, fmt, summarize, 'tensor('.length);
  const extras: string[] = [];
  if (t.device !== 'cpu') extras.push(`device='${t.device}'`);
  if (t.dtype === 'int32') extras.push('dtype=tlm.int32');
  if (t.numel === 0) extras.push(`size=(${t.shape.join(', ')})`);
  if (t.gradFn !== null) extras.push(`grad_fn=<${t.gradFn.name}Backward>`);
  else if (t.requiresGrad) extras.push('requires_grad=True');
  return `tensor(${body}${extras.length ? ', ' + extras.join(', ') : ''})`;
}

function makeFormatter(t: Tensor, data: ArrayLike<number>, summarize: boolean): (v: number) => string {
  if (t.dtype === 'bool') return (v) => (v ? 'True' : 'False').padStart(5);
  let width = 1;
  if (t.dtype === 'int32') {
    for (let i = 0; i < data.length; i++) width = Math.max(width, String(data[i]).length);
    return (v) => String(v).padStart(width);
  }
  let allInt = true;
  let maxAbs = 0;
  for (let i = 0; i < data.length; i++) {
    const v = data[i]!;
    if (Number.isFinite(v)) { maxAbs = Math.max(maxAbs, Math.abs(v)); if (v !== Math.round(v)) allInt = false; }
  }
  const sci = maxAbs >= 1e8 || (maxAbs > 0 && maxAbs < 1e-4);
  const one = (v: number) => {
    if (Number.isNaN(v)) return 'nan';
    if (!Number.isFinite(v)) return v > 0 ? 'inf' : '-inf';
    if (sci) return v.toExponential(4).replace(/e([+-])(\d)$/, 'e$10$2');
    return allInt ? `${v.toFixed(0)}.` : v.toFixed(4);
  };
  void summarize;
  for (let i = 0; i < data.length; i++) width = Math.max(width, one(data[i]!).length);
  return (v) => one(v).padStart(width);
}

function formatDims(shape: readonly number[], data: ArrayLike<number>, dim: number, offset: number,
                    fmt: (v: number) => string, summarize: boolean, indent: number): string {
  if (shape.length === 0) return fmt(data[0]!).trim();
  const n = shape[dim]!;
  let stride = 1;
  for (let i = dim + 1; i < shape.length; i++) stride *= shape[i]!;
  const indices: (number | null)[] = [];
  if (summarize && n > 2 * EDGE) {
    for (let i = 0; i < EDGE; i++) indices.push(i);
    indices.push(null);
    for (let i = n - EDGE; i < n; i++) indices.push(i);
  } else {
    for (let i = 0; i < n; i++) indices.push(i);
  }
  if (dim === shape.length - 1) {
    return '[' + indices.map((i) => (i === null ? '...' : fmt(data[offset + i]!))).join(', ') + ']';
  }
  const sep = ',' + '\n'.repeat(shape.length - dim - 1) + ' '.repeat(indent + 1);
  return '[' + indices.map((i) => (i === null ? '...' :
    formatDims(shape, data, dim + 1, offset + i * stride, fmt, summarize, indent + 1))).join(sep) + ']';
}
