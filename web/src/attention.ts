// The attention heatmap: row i is what token i attends to (causal models: only keys ≤ i), one
// cell per (query, key) pair, token labels along both axes.

const LABEL = 90;     // room for the token labels, in CSS pixels
const MAX_SIDE = 640; // the matrix never grows past this

/** Draws weights[query][key] over the tokens; returns the cell size, for hit testing. */
export function drawHeatmap(canvas: HTMLCanvasElement, tokens: string[], weights: number[][]): number {
  const n = tokens.length;
  const cell = Math.max(6, Math.min(24, Math.floor(MAX_SIDE / Math.max(1, n))));
  const side = LABEL + n * cell;
  const dpr = window.devicePixelRatio || 1;
  canvas.width = side * dpr;
  canvas.height = side * dpr;
  canvas.style.width = canvas.style.height = `${side}px`;
  const ctx = canvas.getContext('2d')!;
  ctx.scale(dpr, dpr);
  ctx.fillStyle = '#fff';
  ctx.fillRect(0, 0, side, side);

  // Opacity √w: weights spread over many keys (≈ 1/T each) stay visible next to a peaked head's.
  for (let q = 0; q < n; q++) {
    const row = weights[q] ?? [];
    for (let k = 0; k < n; k++) {
      ctx.fillStyle = `rgba(37, 99, 235, ${Math.sqrt(Math.min(1, Math.max(0, row[k] ?? 0))).toFixed(3)})`;
      ctx.fillRect(LABEL + k * cell, LABEL + q * cell, cell, cell);
    }
  }

  ctx.fillStyle = '#333';
  ctx.font = `${Math.min(12, cell)}px ui-monospace, monospace`;
  ctx.textBaseline = 'middle';
  const label = (t: string) => {
    const s = JSON.stringify(t).slice(1, -1);
    return s.length > 10 ? `${s.slice(0, 9)}…` : s;
  };
  for (let i = 0; i < n; i++) {
    ctx.textAlign = 'right';
    ctx.fillText(label(tokens[i]!), LABEL - 4, LABEL + (i + 0.5) * cell);
    ctx.save();
    ctx.translate(LABEL + (i + 0.5) * cell, LABEL - 4);
    ctx.rotate(-Math.PI / 2);
    ctx.textAlign = 'left';
    ctx.fillText(label(tokens[i]!), 0, 0);
    ctx.restore();
  }
  return cell;
}

/** The (query, key) cell under a point of the canvas, or null outside the matrix. */
export function cellAt(x: number, y: number, cell: number, n: number): { query: number; key: number } | null {
  const query = Math.floor((y - LABEL) / cell), key = Math.floor((x - LABEL) / cell);
  return query >= 0 && key >= 0 && query < n && key < n ? { query, key } : null;
}
