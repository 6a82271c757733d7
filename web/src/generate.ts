// The generation panel: a streamed completion rendered token by token, then the attention of the
// whole text (prompt + output) for any layer and head.
import { postJson, streamCompletion, type Attention } from './api';
import { cellAt, drawHeatmap } from './attention';
import { $, numberField, onClick, showError } from './dom';
import { appendChunk, attachTooltip } from './tokens';

const TOP_ALTERNATIVES = 5;

export function setupGenerate(model: () => string): void {
  const output = $('output'), status = $('gen-status');
  const generate = $<HTMLButtonElement>('generate'), stop = $<HTMLButtonElement>('stop');
  const prompt = $<HTMLTextAreaElement>('prompt');
  attachTooltip(output, $('tooltip'));

  // The text whose attention the panel shows: the prompt and, once generated, its continuation.
  let generatedFor: string | null = null, generated = '';
  const currentText = () => (generatedFor === prompt.value ? prompt.value + generated : prompt.value);

  const showAttention = setupAttention(model, currentText);
  onClick($<HTMLButtonElement>('attend'), showAttention);

  let controller: AbortController | null = null;
  stop.addEventListener('click', () => controller?.abort());

  onClick(generate, async () => {
    controller = new AbortController();
    stop.disabled = false;
    generatedFor = prompt.value;
    generated = '';
    output.replaceChildren(Object.assign(document.createElement('span'), { className: 'prompt', textContent: prompt.value }));
    status.textContent = 'generating…';
    const started = performance.now();
    let tokens = 0, finish = '';
    try {
      const seed = numberField('seed');
      const chunks = streamCompletion({
        model: model(), prompt: prompt.value, logprobs: TOP_ALTERNATIVES,
        max_tokens: numberField('max-tokens') ?? 16,
        temperature: numberField('temperature') ?? 1,
        top_p: numberField('top-p') ?? 1,
        ...(seed === undefined ? {} : { seed }),
      }, controller.signal);
      for await (const chunk of chunks) {
        generated += chunk.text;
        tokens += appendChunk(output, chunk);
        finish = chunk.finishReason ?? finish;
        status.textContent = `${tokens} tokens…`;
      }
    } catch (err) {
      if (!controller.signal.aborted) throw err;
      finish = 'stopped';
    } finally {
      stop.disabled = true;
      controller = null;
      const seconds = (performance.now() - started) / 1000;
      status.textContent = `${tokens} tokens in ${seconds.toFixed(1)} s${finish ? ` · finish: ${finish}` : ''}`;
    }
    await showAttention();
  });
}

function setupAttention(model: () => string, text: () => string): () => Promise<void> {
  const layer = $<HTMLSelectElement>('layer'), head = $<HTMLSelectElement>('head');
  const canvas = $<HTMLCanvasElement>('heatmap'), status = $('attn-status');
  let attention: Attention | null = null, cell = 0;

  const fill = (select: HTMLSelectElement, count: number) => {
    const keep = Math.min(Number(select.value) || 0, count - 1);
    select.replaceChildren(...Array.from({ length: count }, (_, i) => new Option(String(i), String(i))));
    select.value = String(keep);
  };
  const draw = () => {
    if (!attention) return;
    const weights = attention.weights[Number(layer.value)]?.[Number(head.value)];
    if (!weights) return;
    cell = drawHeatmap(canvas, attention.tokens, weights);
    status.textContent = `${attention.tokens.length} tokens · layer ${layer.value}, head ${head.value}`;
  };
  layer.addEventListener('change', draw);
  head.addEventListener('change', draw);

  canvas.addEventListener('mousemove', (e) => {
    if (!attention) return;
    const at = cellAt(e.offsetX, e.offsetY, cell, attention.tokens.length);
    const weights = attention.weights[Number(layer.value)]?.[Number(head.value)];
    if (!at || !weights) return;
    const q = JSON.stringify(attention.tokens[at.query]), k = JSON.stringify(attention.tokens[at.key]);
    status.textContent = `${q} (${at.query}) attends to ${k} (${at.key}): ${(weights[at.query]![at.key] ?? 0).toFixed(3)}`;
  });

  return async () => {
    const current = text();
    if (current === '') return;
    try {
      attention = await postJson<Attention>('./v1/attention', { model: model(), text: current });
    } catch (err) {
      showError(err);
      return;
    }
    fill(layer, attention.layers);
    fill(head, attention.heads);
    draw();
  };
}
