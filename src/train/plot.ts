// The loss curve of a run as a self-contained SVG (train loss as a line, validation loss as points).

export interface LossPoint { step: number; train_loss: number | null; val_loss: number | null }

export function lossCurveSvg(points: LossPoint[], title = 'loss'): string {
  const W = 640, H = 400, L = 60, R = 20, T = 36, B = 44;
  const values = points.flatMap((p) => [p.train_loss, p.val_loss]).filter((v): v is number => v !== null && Number.isFinite(v));
  const steps = points.map((p) => p.step);
  const xMin = Math.min(...steps, 0), xMax = Math.max(...steps, 1);
  let yMin = Math.min(...values), yMax = Math.max(...values);
  if (!Number.isFinite(yMin)) { yMin = 0; yMax = 1; }
  if (yMax - yMin < 1e-6) { yMax += 0.5; yMin -= 0.5; }
  const x = (s: number) => L + (s - xMin) / (xMax - xMin) * (W - L - R);
  const y = (v: number) => T + (yMax - v) / (yMax - yMin) * (H - T - B);
  const train = points.filter((p) => p.train_loss !== null).map((p) => `${x(p.step).toFixed(1)},${y(p.train_loss!).toFixed(1)}`);
  const val = points.filter((p) => p.val_loss !== null);
  const ticks = 5;
  const grid: string[] = [];
  for (let i = 0; i <= ticks; i++) {
    const v = yMin + (yMax - yMin) * i / ticks, yy = y(v).toFixed(1);
    grid.push(`<line x1="${L}" x2="${W - R}" y1="${yy}" y2="${yy}" stroke="#eee"/><text x="${L - 6}" y="${yy}" text-anchor="end" dominant-baseline="middle">${v.toFixed(2)}</text>`);
    const s = Math.round(xMin + (xMax - xMin) * i / ticks), xx = x(s).toFixed(1);
    grid.push(`<text x="${xx}" y="${H - B + 16}" text-anchor="middle">${s}</text>`);
  }
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" font-family="sans-serif" font-size="11">
<rect width="100%" height="100%" fill="white"/>
<text x="${W / 2}" y="20" text-anchor="middle" font-size="14">${escapeXml(title)}</text>
${grid.join('\n')}
<line x1="${L}" y1="${H - B}" x2="${W - R}" y2="${H - B}" stroke="#333"/><line x1="${L}" y1="${T}" x2="${L}" y2="${H - B}" stroke="#333"/>
<text x="${(L + W - R) / 2}" y="${H - 8}" text-anchor="middle">step</text>
<polyline fill="none" stroke="#1f77b4" stroke-width="1.5" points="${train.join(' ')}"/>
${val.map((p) => `<circle cx="${x(p.step).toFixed(1)}" cy="${y(p.val_loss!).toFixed(1)}" r="3" fill="#d62728"/>`).join('\n')}
<g transform="translate(${W - R - 150},${T + 4})"><line x1="0" x2="20" y1="0" y2="0" stroke="#1f77b4" stroke-width="2"/><text x="26" y="0" dominant-baseline="middle">train loss</text>
<circle cx="10" cy="16" r="3" fill="#d62728"/><text x="26" y="16" dominant-baseline="middle">validation loss</text></g>
</svg>
`;
}

function escapeXml(s: string): string {
  return s.replace(/[<>&"]/g, (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', '"': '&quot;' })[c]!);
}
