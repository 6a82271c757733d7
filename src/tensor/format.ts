// toString() in PyTorch's style: tensor([[1.0000, 2.0000], ...], requires_grad=True).
// Mirrors torch/_tensor_str.py (precision 4, threshold 1000, edgeitems 3, linewidth 80): the same
// choice of int / fixed / scientific mode, the same widths, wrapping and summarization.

import type { Tensor } from './tensor.js';

const EDGE = 3;
const THRESHOLD = 1000;
const LINEWIDTH = 80;
const PREFIX = 'tensor(';

export function formatTensor(t: Tensor): string {
  if (t.isDisposed) return `tensor(<disposed> ${t.describe()})`;
  if (t.device !== 'cpu') return `tensor(<on ${t.device}: use await t.data()> shape=[${t.shape.join(', ')}], dtype=${t.dtype})`;
  const data = t.dataSync();
  const summarize = t.numel > THRESHOLD;
  const indent = PREFIX.length;
  let body: string;
  if (t.numel === 0) body = '[]';
  else {
    // torch sizes the formatter on the values it will show (the summarized ones), not all of them.
    const shown: number[] = [];
    visit(t.shape, 0, 0, summarize, (i) => shown.push(data[i]!));
    const fmt = new Formatter(t.dtype, shown);
    body = formatDims(t.shape, data, 0, 0, fmt, summarize, indent);
  }
  const suffixes: string[] = [];
  if (t.device !== 'cpu') suffixes.push(`device='${t.device}'`);
  if (t.numel === 0 && t.ndim !== 1) suffixes.push(`size=(${t.shape.join(', ')})`);
  if (t.dtype === 'int32') suffixes.push('dtype=tlm.int32');
  if (t.gradFn !== null) suffixes.push(`grad_fn=<${t.gradFn.name}Backward>`);
  else if (t.requiresGrad) suffixes.push('requires_grad=True');
  return addSuffixes(PREFIX + body, suffixes, indent);
}

/** Calls fn with the flat index of every element that will be printed, in order. */
function visit(shape: readonly number[], dim: number, offset: number, summarize: boolean, fn: (i: number) => void): void {
  if (shape.length === 0) { fn(0); return; }
  const n = shape[dim]!;
  let stride = 1;
  for (let i = dim + 1; i < shape.length; i++) stride *= shape[i]!;
  for (const i of shownIndices(n, summarize)) {
    if (i === null) continue;
    if (dim === shape.length - 1) fn(offset + i);
    else visit(shape, dim + 1, offset + i * stride, summarize, fn);
  }
}

function shownIndices(n: number, summarize: boolean): (number | null)[] {
  const out: (number | null)[] = [];
  if (summarize && n > 2 * EDGE) {
    for (let i = 0; i < EDGE; i++) out.push(i);
    out.push(null);
    for (let i = n - EDGE; i < n; i++) out.push(i);
  } else {
    for (let i = 0; i < n; i++) out.push(i);
  }
  return out;
}

/** torch's _Formatter: picks int / fixed / scientific mode and a common width. */
class Formatter {
  private intMode = true;
  private sciMode = false;
  width = 1;

  constructor(private readonly dtype: string, values: readonly number[]) {
    if (dtype !== 'float32') {
      for (const v of values) this.width = Math.max(this.width, this.raw(v).length);
      return;
    }
    const nz = values.filter((v) => Number.isFinite(v) && v !== 0);
    if (nz.length === 0) return;
    let lo = Infinity, hi = 0;
    for (const v of nz) { lo = Math.min(lo, Math.abs(v)); hi = Math.max(hi, Math.abs(v)); if (v !== Math.ceil(v)) this.intMode = false; }
    if (this.intMode) this.sciMode = hi / lo > 1000 || hi > 1e8;
    else this.sciMode = hi / lo > 1000 || hi > 1e8 || lo < 1e-4;
    // In int mode the width counts the '.' that follows each number.
    for (const v of nz) this.width = Math.max(this.width, this.raw(v).length);
  }

  private raw(v: number): string {
    if (this.dtype === 'bool') return v ? 'True' : 'False';
    if (this.dtype === 'int32') return String(v);
    if (Number.isNaN(v)) return 'nan';
    if (!Number.isFinite(v)) return v > 0 ? 'inf' : '-inf';
    const sign = Object.is(v, -0) ? '-' : '';
    // Python writes exponents with at least two digits: 1.0000e-05.
    if (this.sciMode) return sign + v.toExponential(4).replace(/e([+-])(\d)$/, 'e$10$2');
    if (this.intMode) return `${sign}${v.toFixed(0)}.`;
    return sign + v.toFixed(4);
  }

  format(v: number): string {
    return this.raw(v).padStart(this.width);
  }
}

function formatDims(shape: readonly number[], data: ArrayLike<number>, dim: number, offset: number,
                    fmt: Formatter, summarize: boolean, indent: number): string {
  if (shape.length === 0) return fmt.format(data[0]!).trim();
  const n = shape[dim]!;
  let stride = 1;
  for (let i = dim + 1; i < shape.length; i++) stride *= shape[i]!;
  const indices = shownIndices(n, summarize);
  if (dim === shape.length - 1) {
    // torch's _vector_str: as many elements per line as fit in the line width.
    const items = indices.map((i) => (i === null ? ' ...' : fmt.format(data[offset + i]!)));
    const perLine = Math.max(1, Math.floor((LINEWIDTH - indent) / (fmt.width + 2)));
    const lines: string[] = [];
    for (let i = 0; i < items.length; i += perLine) lines.push(items.slice(i, i + perLine).join(', '));
    return '[' + lines.join(',\n' + ' '.repeat(indent + 1)) + ']';
  }
  const sep = ',' + '\n'.repeat(shape.length - dim - 1) + ' '.repeat(indent + 1);
  return '[' + indices.map((i) => (i === null ? '...' :
    formatDims(shape, data, dim + 1, offset + i * stride, fmt, summarize, indent + 1))).join(sep) + ']';
}

/** torch's _add_suffixes: ", suffix" on the last line, or on a new line when it would pass the width. */
function addSuffixes(s: string, suffixes: readonly string[], indent: number): string {
  let out = s;
  let lastLine = s.length - s.lastIndexOf('\n') + 1;
  for (const suffix of suffixes) {
    if (lastLine + suffix.length + 2 > LINEWIDTH) {
      out += ',\n' + ' '.repeat(indent) + suffix;
      lastLine = indent + suffix.length;
    } else {
      out += ', ' + suffix;
      lastLine += suffix.length + 2;
    }
  }
  return out + ')';
}
