// The task panels: classification, extractive QA, translation and summarization, each a form
// over its /v1 route.
import { postJson, type Answer, type Classification } from './api';
import { $, onClick } from './dom';

export function setupTasks(model: () => string): void {
  onClick($<HTMLButtonElement>('classify'), async () => {
    const input = $<HTMLTextAreaElement>('classify-input').value.split('\n').filter((l) => l.trim() !== '');
    if (input.length === 0) throw new Error('enter a text to classify');
    const res = await postJson<{ data: Classification[] }>('./v1/classify', { model: model(), input });
    $('classify-output').replaceChildren(...res.data.map((c, i) => classification(input[i]!, c)));
  });

  onClick($<HTMLButtonElement>('answer'), async () => {
    const question = $<HTMLInputElement>('question').value, context = $<HTMLTextAreaElement>('context').value;
    const res = await postJson<Answer>('./v1/answer', { model: model(), question, context });
    // The answer in its context: the span [start, end) of the context's characters.
    const p = document.createElement('p');
    p.append(context.slice(0, res.start), Object.assign(document.createElement('mark'), { textContent: context.slice(res.start, res.end) }), context.slice(res.end));
    const head = document.createElement('p');
    head.append(Object.assign(document.createElement('strong'), { textContent: res.answer }), ' ',
      Object.assign(document.createElement('span'), { className: 'status', textContent: `score ${res.score.toFixed(3)}` }));
    $('answer-output').replaceChildren(head, p);
  });

  for (const task of ['translate', 'summarize'] as const) {
    onClick($<HTMLButtonElement>(task), async () => {
      const input = $<HTMLTextAreaElement>(`${task}-input`).value;
      const res = await postJson<{ data: { text: string }[] }>(`./v1/${task}`, { model: model(), input });
      $(`${task}-output`).textContent = res.data[0]?.text ?? '';
    });
  }
}

/** One text's labels, most likely first, each with a bar as long as its probability. */
function classification(text: string, c: Classification): HTMLElement {
  const box = document.createElement('div');
  box.className = 'classification';
  const title = document.createElement('p');
  title.textContent = `${text} → ${c.label}`;
  box.append(title);
  for (const [label, p] of Object.entries(c.probs).sort((a, b) => b[1] - a[1])) {
    const row = document.createElement('div');
    row.className = 'bar-row';
    const bar = Object.assign(document.createElement('span'), { className: 'bar' });
    bar.style.width = `${(100 * p).toFixed(1)}%`;
    row.append(Object.assign(document.createElement('span'), { className: 'bar-label', textContent: `${label} ${(100 * p).toFixed(1)}%` }), bar);
    box.append(row);
  }
  return box;
}
