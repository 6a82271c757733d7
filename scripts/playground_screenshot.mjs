// Takes the README's playground screenshot (docs/playground.png) from a trained model, so the
// picture shows what a reader will see: `npx tlm demo` first (it saves out/demo), then
//
//   node scripts/playground_screenshot.mjs [MODEL_DIR] [OUT_PNG]
//
// Needs the build (npm run build), Debian's chromium (or CHROMIUM_PATH) and playwright-core (a dev
// dependency). The browser test (test/serve_browser.test.ts) checks the page; this only poses it.

import { chromium } from 'playwright-core';
import { createServer } from '../dist/src/serve/server.js';

const dir = process.argv[2] ?? 'out/demo';
const out = process.argv[3] ?? 'docs/playground.png';
const app = await createServer({ models: [{ name: 'shakespeare', dir }] });
const browser = await chromium.launch({ executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium', args: ['--no-sandbox'] });
try {
  const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  await page.goto(await app.listen({ host: '127.0.0.1', port: 0 }));
  await page.waitForSelector('#tabs button[aria-selected="true"]');
  await page.fill('#prompt', 'ROMEO:\nBut soft, what light');
  await page.fill('#max-tokens', '36'); // the demo model's context is 64 characters, the prompt 27
  await page.fill('#temperature', '0.8');
  await page.fill('#top-p', '0.95');
  await page.fill('#seed', '7');
  await page.click('#generate');
  await page.waitForSelector('#generate:enabled', { timeout: 120_000 });
  await page.waitForFunction(() => /layer 0, head 0$/.test(document.querySelector('#attn-status')?.textContent ?? ''));
  await page.selectOption('#layer', '3');
  await page.selectOption('#head', '1');
  await page.locator('#output .tok').nth(12).hover({ timeout: 5000 });
  await page.screenshot({ path: out, fullPage: true });
  console.log(`wrote ${out}`);
} finally {
  await browser.close();
  await app.shutdown();
}
