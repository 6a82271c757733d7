// The library itself in a browser (issue #13): `tlm serve` serves the built training page
// (dist/web/train.html, cross-origin isolated); Debian's chromium, driven by playwright-core,
// trains the baby GPT of `tlm demo` in the tab with the WASM kernels on worker threads, watches the
// loss fall on the plot, and gets a sample. The same page without isolation runs the one-thread
// kernels. WebGPU runs where chromium exposes an adapter (skipped with the reason otherwise).

import test from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { createServer } from '../src/serve/server.js';
import { launchChromium } from './helpers/chromium.js';

const modelDir = join(process.cwd(), 'test', 'fixtures', 'hf', 'gpt2-tiny');

interface PageResult { state: string; kernels: string; threads: number; device: string; steps: number; first: number; last: number; sample: string; status: string; plotted: number }

async function trainInPage(page: Page, url: string, timeoutMs = 240_000): Promise<PageResult> {
  await page.goto(url);
  await page.waitForFunction(() => document.body.dataset.state === 'done' || document.body.dataset.state === 'error', null, { timeout: timeoutMs });
  return page.evaluate(() => {
    const d = document.body.dataset;
    // The plot is drawn: count the canvas pixels that carry the loss line's blue.
    const c = document.getElementById('loss') as HTMLCanvasElement;
    const px = c.getContext('2d')!.getImageData(0, 0, c.width, c.height).data;
    let plotted = 0;
    for (let i = 0; i < px.length; i += 4) if (px[i + 2]! > 150 && px[i]! < 120) plotted++;
    return { state: d.state!, kernels: d.kernels ?? '', threads: Number(d.threads), device: d.device ?? '', steps: Number(d.steps),
      first: Number(d.firstLoss), last: Number(d.lastLoss), sample: document.getElementById('sample')!.textContent ?? '',
      status: document.getElementById('status')!.textContent ?? '', plotted };
  });
}

async function withPage<T>(fn: (page: Page, base: string, browser: Browser) => Promise<T>, args: string[] = []): Promise<T> {
  assert.ok(existsSync(join(process.cwd(), 'dist', 'web', 'train.html')), 'dist/web/train.html is missing: run npm run build');
  const browser = await launchChromium(args);
  const app = await createServer({ models: [{ name: 'gpt2-tiny', dir: modelDir }] });
  try {
    const base = await app.listen({ host: '127.0.0.1', port: 0 });
    const page = await browser.newPage();
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    const out = await fn(page, base, browser);
    assert.deepEqual(errors, []);
    return out;
  } finally {
    await browser.close();
    await app.close();
  }
}

test('the training page trains the baby GPT in the tab on threaded WASM kernels, plots the loss and samples', async () => {
  const r = await withPage((page, base) => trainInPage(page, `${base}/train.html?steps=60&seconds=200&autostart=1`));
  assert.equal(r.state, 'done', r.status);
  assert.equal(r.device, 'cpu');
  assert.equal(r.kernels, 'wasm', 'the page is cross-origin isolated, so the WASM kernels load');
  assert.ok(r.threads >= 2, `kernels on worker threads (got ${r.threads})`);
  assert.equal(r.steps, 60);
  // A character-level model starts near ln(65) ≈ 4.2 and 60 AdamW steps at 1e-3 bring it well down.
  assert.ok(r.first > 3.5 && r.last < r.first - 0.8, `loss ${r.first} → ${r.last}`);
  assert.ok(r.plotted > 50, `the loss line is drawn (${r.plotted} pixels)`);
  assert.ok(r.sample.length >= 100, `a sample of 200 characters (got ${JSON.stringify(r.sample)})`);
});

test('without cross-origin isolation the page runs the one-thread WASM kernels', async () => {
  const r = await withPage(async (page, base) => {
    // Another origin's copy of the page loses isolation: strip the COOP/COEP headers on the way.
    await page.route('**/*', async (route) => {
      const res = await route.fetch();
      const headers = { ...res.headers() };
      delete headers['cross-origin-opener-policy'];
      delete headers['cross-origin-embedder-policy'];
      await route.fulfill({ response: res, headers });
    });
    return trainInPage(page, `${base}/train.html?steps=8&seconds=100&autostart=1`);
  });
  assert.equal(r.state, 'done', r.status);
  assert.equal(r.kernels, 'wasm');
  assert.equal(r.threads, 1);
  assert.match(r.status, /Trained 8 steps/);
});

test('the training page on WebGPU, where chromium exposes an adapter', async (t) => {
  await withPage(async (page, base) => {
    await page.goto(`${base}/train.html`);
    const adapter = await page.evaluate(async () => {
      const gpu = (navigator as unknown as { gpu?: { requestAdapter(): Promise<unknown> } }).gpu;
      return gpu ? (await gpu.requestAdapter()) !== null : false;
    });
    if (!adapter) {
      const reason = 'chromium exposes no WebGPU adapter on this machine (headless, no GPU)';
      console.log(`# skipped: ${reason}`);
      t.skip(reason);
      return;
    }
    // The adapter here is a software one (SwiftShader): a small model keeps the test short.
    const r = await trainInPage(page, `${base}/train.html?steps=12&seconds=200&device=webgpu&autostart=1&layers=1&heads=2&width=32&context=16&batch=4`);
    assert.equal(r.state, 'done', r.status);
    assert.equal(r.device, 'webgpu');
    assert.ok(r.last < r.first, `loss ${r.first} → ${r.last}`);
    assert.ok(r.sample.length > 0);
  }, ['--enable-unsafe-webgpu', '--enable-features=Vulkan', '--use-angle=vulkan']);
});

test('the ESM browser build (dist/browser/tlm.js) loads its kernels and computes in a page', async () => {
  const dir = join(process.cwd(), 'dist', 'browser');
  assert.ok(existsSync(join(dir, 'tlm.js')), 'dist/browser/tlm.js is missing: run npm run build');
  const browser = await launchChromium();
  try {
    const page = await browser.newPage();
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    // A static origin (intercepted: nothing listens there) serving the build, cross-origin isolated as a
    // deployment would be; localhost is a secure context, which isolation needs.
    await page.route('http://localhost:7357/**', async (route) => {
      const path = new URL(route.request().url()).pathname;
      const file = path === '/' ? null : join(dir, path);
      const type = path.endsWith('.js') ? 'text/javascript' : path.endsWith('.wasm') ? 'application/wasm' : 'text/html';
      await route.fulfill({ status: file === null || existsSync(file) ? 200 : 404, contentType: type,
        headers: { 'Cross-Origin-Opener-Policy': 'same-origin', 'Cross-Origin-Embedder-Policy': 'require-corp' },
        body: file === null ? '<!doctype html><title>tlm</title>' : existsSync(file) ? readFileSync(file) : 'not found' });
    });
    await page.goto('http://localhost:7357/');
    const r = await page.evaluate(async () => {
      const tlm = await import('http://localhost:7357/tlm.js' as string);
      const build = await tlm.loadCpuKernels();
      const a = tlm.tensor([[1, 2], [3, 4]]), b = tlm.tensor([[5, 6], [7, 8]]);
      const tok = tlm.tokenizers.trainCharLevel(['hello browser']);
      return { build, kernels: tlm.getCpuKernels(), threads: tlm.getCpuThreads(), product: Array.from(await a.matmul(b).data() as Float32Array),
        roundTrip: tok.decode(tok.encode('hello').ids) };
    });
    assert.deepEqual(errors, []);
    assert.equal(r.build, 'shared');
    assert.equal(r.kernels, 'wasm');
    assert.ok(r.threads >= 2);
    assert.deepEqual(r.product, [19, 22, 43, 50]);
    assert.equal(r.roundTrip, 'hello');
  } finally {
    await browser.close();
  }
});
