// Generated tokens as spans coloured by their probability, with the model's top alternatives
// in a tooltip on hover.
import type { CompletionChunk } from './api';

interface TokenInfo { token: string; prob: number; alternatives: [string, number][] }
const info = new WeakMap<Element, TokenInfo>();

/**
 * Red for an unlikely token through yellow to green for a certain one, on a log scale from 0.01%
 * to 100%: a model's token probabilities span orders of magnitude.
 */
export function probColour(prob: number): string {
  const t = Math.min(1, Math.max(0, 1 + Math.log10(Math.max(prob, 1e-12)) / 4));
  return `hsl(${Math.round(120 * t)}, 75%, 80%)`;
}

/** Tokens as they read in a list: whitespace and control characters made visible. */
export function showToken(token: string): string {
  return JSON.stringify(token).slice(1, -1).replace(/ /g, '␣');
}

function tokenSpan(text: string, logprob: number, top: Record<string, number> | undefined): HTMLSpanElement {
  const span = document.createElement('span');
  const prob = Math.exp(logprob);
  span.className = text.includes('\n') ? 'tok nl' : 'tok'; // .nl marks the line break it would hide
  span.textContent = text;
  span.style.backgroundColor = probColour(prob);
  const alternatives = Object.entries(top ?? {})
    .map(([t, lp]): [string, number] => [t, Math.exp(lp)])
    .sort((a, b) => b[1] - a[1]);
  info.set(span, { token: text, prob, alternatives });
  return span;
}

/**
 * Appends a streamed chunk and returns how many tokens it carried: a span per token when the
 * tokens spell out the chunk's text; otherwise (a character whose UTF-8 bytes span several tokens
 * arrives with the last of them) one span for the text, coloured by the chunk's last token.
 */
export function appendChunk(output: HTMLElement, chunk: CompletionChunk): number {
  const lp = chunk.logprobs;
  const count = lp ? lp.tokens.length : chunk.text ? 1 : 0;
  if (lp && count > 0 && lp.tokens.join('') === chunk.text) {
    lp.tokens.forEach((t, i) => output.append(tokenSpan(t, lp.token_logprobs[i]!, lp.top_logprobs?.[i])));
  } else if (chunk.text && lp && count > 0) {
    output.append(tokenSpan(chunk.text, lp.token_logprobs[count - 1]!, lp.top_logprobs?.[count - 1]));
  } else if (chunk.text) {
    output.append(Object.assign(document.createElement('span'), { className: 'plain', textContent: chunk.text }));
  }
  return count;
}

/** Shows the hovered token's probability and alternatives next to the pointer. */
export function attachTooltip(output: HTMLElement, tooltip: HTMLElement): void {
  output.addEventListener('mouseover', (e) => {
    const target = e.target as Element;
    const data = info.get(target);
    if (!data) return;
    tooltip.replaceChildren(tooltipTable(data));
    const r = target.getBoundingClientRect();
    tooltip.style.left = `${r.left + window.scrollX}px`;
    tooltip.style.top = `${r.bottom + window.scrollY + 4}px`;
    tooltip.hidden = false;
  });
  output.addEventListener('mouseout', (e) => {
    if (info.has(e.target as Element)) tooltip.hidden = true;
  });
}

function tooltipTable(data: TokenInfo): HTMLTableElement {
  const table = document.createElement('table');
  const row = (token: string, prob: number, chosen: boolean) => {
    const tr = table.insertRow();
    if (chosen) tr.className = 'chosen';
    tr.insertCell().textContent = showToken(token);
    tr.insertCell().textContent = `${(100 * prob).toFixed(1)}%`;
  };
  table.createCaption().textContent = `p = ${(100 * data.prob).toFixed(1)}%`;
  if (data.alternatives.length === 0) row(data.token, data.prob, true);
  for (const [t, p] of data.alternatives) row(t, p, t === data.token);
  return table;
}
