// The playground: picks a model, shows a tab for each task route it supports, and wires the panels.
import './style.css';
import { listModels, setApiKey, type ModelInfo } from './api';
import { $, showError } from './dom';
import { setupGenerate } from './generate';
import { setupTasks } from './tasks';

/** The tabs, and the model tasks (models/tasks.ts TaskName) that bring each one. */
const TABS: { panel: string; title: string; tasks: string[] }[] = [
  { panel: 'generate', title: 'Generate', tasks: ['causal-lm'] },
  { panel: 'classify', title: 'Classify', tasks: ['sequence-classification'] },
  { panel: 'answer', title: 'Answer', tasks: ['question-answering'] },
  { panel: 'translate', title: 'Translate', tasks: ['seq2seq-lm', 'translation'] },
  { panel: 'summarize', title: 'Summarize', tasks: ['seq2seq-lm', 'summarization'] },
];

const select = $<HTMLSelectElement>('model');
let models: ModelInfo[] = [];
const model = () => select.value;

function showTabs(): void {
  const tasks = models.find((m) => m.id === model())?.tasks ?? [];
  const tabs = TABS.filter((t) => t.tasks.some((task) => tasks.includes(task)));
  const nav = $('tabs');
  const current = nav.querySelector<HTMLButtonElement>('[aria-selected="true"]')?.dataset.panel;
  nav.replaceChildren(...tabs.map((t) => {
    const b = Object.assign(document.createElement('button'), { type: 'button', textContent: t.title });
    b.setAttribute('role', 'tab');
    b.dataset.panel = t.panel;
    b.addEventListener('click', () => openTab(t.panel));
    return b;
  }));
  for (const t of TABS) $(`panel-${t.panel}`).hidden = true;
  if (tabs.length === 0) showError(`model ${model()} supports none of the playground's tasks (${tasks.join(', ') || 'none listed'})`);
  else openTab(tabs.some((t) => t.panel === current) ? current! : tabs[0]!.panel);
}

function openTab(panel: string): void {
  for (const b of $('tabs').querySelectorAll<HTMLButtonElement>('button')) b.setAttribute('aria-selected', String(b.dataset.panel === panel));
  for (const t of TABS) $(`panel-${t.panel}`).hidden = t.panel !== panel;
}

async function loadModels(): Promise<void> {
  showError(null);
  models = await listModels();
  if (models.length === 0) throw new Error('the server has no models loaded');
  const previous = select.value;
  select.replaceChildren(...models.map((m) => new Option(m.id, m.id)));
  if (models.some((m) => m.id === previous)) select.value = previous;
  $('model-label').hidden = models.length < 2;
  showTabs();
}

const key = $<HTMLInputElement>('api-key');
$('key-form').addEventListener('submit', (e) => e.preventDefault());
key.value = sessionStorage.getItem('tlm-api-key') ?? '';
setApiKey(key.value);
key.addEventListener('change', () => {
  setApiKey(key.value);
  sessionStorage.setItem('tlm-api-key', key.value);
  loadModels().catch(showError);
});
select.addEventListener('change', showTabs);
setupGenerate(model);
setupTasks(model);
loadModels().catch(showError);
