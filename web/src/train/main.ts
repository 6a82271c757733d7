// The training page: starts the worker, draws the loss as it arrives, shows the sample.

import '../style.css';
import type { StartMessage, WorkerMessage } from './protocol.js';
import corpusUrl from '../../../data/tinyshakespeare.txt?url';
import sharedKernels from '../../../dist/wasm/kernels.wasm?url';
import singleKernels from '../../../dist/wasm/kernels-single.wasm?url';

const $ = <T extends HTMLElement>(id: string): T => document.getElementById(id) as T;
const status = $('status'), sample = $('sample'), canvas = $<HTMLCanvasElement>('loss');
const startButton = $<HTMLButtonElement>('start'), stopButton = $<HTMLButtonElement>('stop');
const params = new URLSearchParams(location.search);
let worker: Worker | null = null;
let points: { step: number; loss: number }[] = [];
let ready = '';

function draw(): void {
  const ctx = canvas.getContext('2d')!;
  const { width: w, height: h } = canvas;
  ctx.clearRect(0, 0, w, h);
  ctx.strokeStyle = '#999';
  ctx.strokeRect(0.5, 0.5, w - 1, h - 1);
  if (points.length === 0) return;
  const maxStep = Math.max(...points.map((p) => p.step), 1);
  const hi = Math.max(...points.map((p) => p.loss)), lo = Math.min(...points.map((p) => p.loss));
  const y = (v: number) => h - 20 - ((v - lo) / Math.max(hi - lo, 1e-6)) * (h - 40);
  ctx.strokeStyle = '#2563eb';
  ctx.lineWidth = 1.5;
  ctx.beginPath();
  points.forEach((p, i) => (i === 0 ? ctx.moveTo : ctx.lineTo).call(ctx, (p.step / maxStep) * (w - 10) + 5, y(p.loss)));
  ctx.stroke();
  ctx.fillStyle = '#333';
  ctx.fillText(`loss ${hi.toFixed(2)}`, 8, 14);
  ctx.fillText(`${lo.toFixed(2)} at step ${points[points.length - 1]!.step}`, 8, h - 6);
}

function onMessage(m: WorkerMessage): void {
  if (m.type === 'ready') {
    ready = `${m.device}${m.device === 'cpu' ? ` (${m.kernels} kernels, ${m.threads} thread${m.threads > 1 ? 's' : ''}${m.isolated ? '' : ', page not cross-origin isolated'})` : ''}; ` +
      `${(m.params / 1e6).toFixed(2)}M parameters, ${m.vocab} characters`;
    document.body.dataset.kernels = m.kernels;
    document.body.dataset.threads = String(m.threads);
    document.body.dataset.device = m.device;
    status.textContent = `Training on ${ready}…`;
  } else if (m.type === 'loss') {
    points.push({ step: m.step, loss: m.loss });
    document.body.dataset.steps = String(m.step);
    status.textContent = `Step ${m.step}: loss ${m.loss.toFixed(3)}${m.valLoss !== null ? `, validation ${m.valLoss.toFixed(3)}` : ''}, ` +
      `${Math.round(m.tokensPerSecond)} tokens/s — ${ready}`;
    draw();
  } else if (m.type === 'done') {
    document.body.dataset.firstLoss = String(points[0]?.loss ?? NaN);
    document.body.dataset.lastLoss = String(m.trainLoss);
    status.textContent = `Trained ${m.steps} steps in ${m.seconds.toFixed(0)} s (${Math.round(m.tokensPerSecond)} tokens/s): ` +
      `loss ${m.trainLoss.toFixed(3)}, validation ${m.valLoss.toFixed(3)}. Sampling…`;
  } else if (m.type === 'text') {
    sample.textContent += m.text;
  } else if (m.type === 'sample') {
    sample.textContent = m.text;
    document.body.dataset.state = 'done';
    finish();
  } else {
    status.textContent = `Error: ${m.message}`;
    document.body.dataset.state = 'error';
    finish();
  }
}

function finish(): void {
  startButton.disabled = false;
  stopButton.disabled = true;
  worker?.terminate();
  worker = null;
}

function intParam(name: string, fallback: number): number {
  const v = Number(params.get(name) ?? fallback);
  return Number.isInteger(v) && v > 0 ? v : fallback;
}

function start(): void {
  points = [];
  sample.textContent = '';
  draw();
  document.body.dataset.state = 'training';
  startButton.disabled = true;
  stopButton.disabled = false;
  worker = new Worker(new URL('./worker.ts', import.meta.url), { type: 'module' });
  worker.onmessage = (ev: MessageEvent<WorkerMessage>) => onMessage(ev.data);
  worker.onerror = (ev) => onMessage({ type: 'error', message: ev.message || 'the worker failed to start' });
  const msg: StartMessage = {
    type: 'start', steps: Number($<HTMLInputElement>('steps').value), seconds: Number($<HTMLInputElement>('seconds').value),
    device: $<HTMLSelectElement>('device').value as 'cpu' | 'webgpu',
    corpusUrl: new URL(corpusUrl, location.href).href,
    // URL parameters change the model (?layers=2&width=64...); the defaults are tlm demo's baby GPT.
    model: { layers: intParam('layers', 4), heads: intParam('heads', 4), width: intParam('width', 128), context: intParam('context', 64), batch: intParam('batch', 12) },
    kernels: { shared: new URL(sharedKernels, location.href).href, single: new URL(singleKernels, location.href).href },
  };
  status.textContent = 'Starting…';
  worker.postMessage(msg);
}

startButton.addEventListener('click', start);
stopButton.addEventListener('click', () => worker?.postMessage({ type: 'stop' }));
for (const id of ['steps', 'seconds', 'device']) if (params.has(id)) ($<HTMLInputElement>(id)).value = params.get(id)!;
draw();
if (params.has('autostart')) start();
