// The playground in a real browser: tlm serve (in-process, the gpt2-tiny fixture) serves the built
// page; Debian's chromium, driven by playwright-core, generates, and the test checks that tokens
// stream in one by one with their probabilities, that the attention heatmap draws for a chosen
// layer and head, and saves a screenshot (to docs/playground.png with TLM_UPDATE_SCREENSHOT=1).

import test from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, existsSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import '../src/index.js';
import { createServer } from '../src/serve/server.js';
import { launchChromium } from './helpers/chromium.js';
import { Tokenizer } from '../src/tokenizers/index.js';
import { BertForQuestionAnswering, BertForSequenceClassification } from '../src/models/index.js';

const modelDir = join(process.cwd(), 'test', 'fixtures', 'hf', 'gpt2-tiny');
const bertDir = join(process.cwd(), 'test', 'fixtures', 'hf', 'bert-tiny');
const webIndex = join(process.cwd(), 'dist', 'web', 'index.html');

interface Chunk { text: string; tokens: string[]; logprobs: number[] }
interface Span { text: string; logprob: number }

/** The chunks of an SSE completion body, in order, as the server sent them. */
function streamedChunks(sse: string): Chunk[] {
  const chunks: Chunk[] = [];
  for (const event of sse.split('\n\n')) {
    const data = event.replace(/^data: /, '').trim();
    if (data === '' || data === '[DONE]') continue;
    const choice = (JSON.parse(data) as { choices: { text: string; logprobs?: { tokens: string[]; token_logprobs: number[] } }[] }).choices[0];
    if (choice) chunks.push({ text: choice.text, tokens: choice.logprobs?.tokens ?? [], logprobs: choice.logprobs?.token_logprobs ?? [] });
  }
  return chunks;
}

/**
 * The token spans the page should show for a stream: one per token, except where a chunk's text is
 * not its tokens' strings (a multi-byte character completed by its last byte's token): one span of
 * the text, with the probability of the chunk's last token.
 */
function expectedSpans(chunks: Chunk[]): Span[] {
  return chunks.flatMap((c): Span[] => {
    if (c.tokens.length === 0 || c.text === '') return [];
    if (c.tokens.join('') === c.text) return c.tokens.map((text, i) => ({ text, logprob: c.logprobs[i]! }));
    return [{ text: c.text, logprob: c.logprobs[c.logprobs.length - 1]! }];
  });
}

/** Pixels of the heatmap's blue (weights), as opposed to white background and grey labels. */
const bluePixels = (page: Page) => page.$eval('#heatmap', (c) => {
  const canvas = c as HTMLCanvasElement;
  if (canvas.width === 0) return 0;
  const px = canvas.getContext('2d')!.getImageData(0, 0, canvas.width, canvas.height).data;
  let n = 0;
  for (let i = 0; i < px.length; i += 4) if (px[i + 2]! - px[i]! > 20) n++;
  return n;
});

function checkPrerequisites(): void {
  assert.ok(existsSync(webIndex), `${webIndex} is missing: node scripts/build.mjs builds the playground (needs vite, a dev dependency)`);
}

test('playground: tokens stream in coloured by probability, the attention heatmap renders for a chosen layer and head', async () => {
  checkPrerequisites();
  const tmp = mkdtempSync(join(tmpdir(), 'tlm-browser-'));
  const browser = await launchChromium();
  const app = await createServer({ models: [{ name: 'gpt2-tiny', dir: modelDir }] });
  try {
    const url = await app.listen({ host: '127.0.0.1', port: 0 });
    const page = await browser.newPage({ viewport: { width: 1000, height: 1250 } });
    const pageErrors: string[] = [];
    page.on('pageerror', (e) => pageErrors.push(e.message));
    await page.goto(url);
    // One model: no model selector; one task (causal LM): one tab, Generate.
    await page.waitForSelector('#tabs button[aria-selected="true"]');
    assert.deepEqual(await page.$$eval('#tabs button', (bs) => bs.map((b) => b.textContent)), ['Generate']);
    assert.equal(await page.isHidden('#model-label'), true);

    // Record the completion stream as the page reads it (its only streamed body): the bytes, and the
    // token spans on the page when each network read completes, before the page sees its data.
    await page.evaluate(() => {
      const read = ReadableStreamDefaultReader.prototype.read;
      const decoder = new TextDecoder();
      const log = { body: '', tokensAtRead: [] as number[] };
      (window as unknown as { streamLog: typeof log }).streamLog = log;
      ReadableStreamDefaultReader.prototype.read = async function (this: ReadableStreamDefaultReader) {
        const r = await read.call(this);
        if (!r.done) {
          log.tokensAtRead.push(document.querySelectorAll('#output .tok').length);
          log.body += decoder.decode(r.value as Uint8Array, { stream: true });
        }
        return r;
      } as typeof read;
    });

    const prompt = 'First Citizen:\nBefore we';
    await page.fill('#prompt', prompt);
    await page.fill('#max-tokens', '60');
    await page.fill('#temperature', '0.8');
    await page.fill('#top-p', '0.9');
    await page.fill('#seed', '3');
    const attention = page.waitForResponse((r) => r.url().endsWith('/v1/attention'));
    await page.click('#generate');
    await page.waitForSelector('#generate:enabled', { timeout: 60_000 });

    // The tokens came over several reads and were shown as they came: spans already on the page
    // when later reads arrived.
    const log = await page.evaluate(() => (window as unknown as { streamLog: { body: string; tokensAtRead: number[] } }).streamLog);
    const chunks = streamedChunks(log.body);
    const spans = expectedSpans(chunks);
    const tokenCount = chunks.reduce((n, c) => n + c.tokens.length, 0);
    const atRead = log.tokensAtRead;
    const partial = new Set(atRead.filter((n) => n > 0 && n < spans.length));
    assert.ok(partial.size >= 2, `tokens did not stream in: token spans on the page at each read: ${atRead.join(', ')} of ${spans.length}`);

    // The output is the stream: its text, a span per token, the status counts every token.
    assert.ok(tokenCount > 0, 'the completion stream carried no logprobs');
    assert.equal(await page.$eval('#output', (e) => e.textContent), prompt + chunks.map((c) => c.text).join(''));
    assert.deepEqual(await page.$$eval('#output .tok', (els) => els.map((e) => e.textContent)), spans.map((s) => s.text));
    assert.match(await page.textContent('#gen-status') ?? '', new RegExp(`^${tokenCount} tokens in .* · finish: (length|stop)$`));

    // Colour and tooltip follow each token's probability: hover the least and the most likely of
    // the tokens with something to hover (not only whitespace).
    const byProb = spans.map((s, i) => ({ ...s, i })).filter((s) => s.text.trim() !== '').sort((a, b) => a.logprob - b.logprob);
    assert.ok(byProb.length > 0, `no visible token among ${JSON.stringify(spans.map((s) => s.text))}`);
    const colours = new Set<string>();
    for (const s of [byProb[0]!, byProb[byProb.length - 1]!]) {
      const span = page.locator('#output .tok').nth(s.i);
      colours.add(await span.evaluate((e) => (e as HTMLElement).style.backgroundColor));
      await span.hover({ timeout: 5000 });
      assert.equal(await page.textContent('#tooltip caption'), `p = ${(100 * Math.exp(s.logprob)).toFixed(1)}%`);
      const rows = await page.locator('#tooltip tr').count();
      assert.ok(rows >= 1 && rows <= 5, `tooltip rows: ${rows}`);
    }
    if (Math.exp(byProb[0]!.logprob) < Math.exp(byProb[byProb.length - 1]!.logprob) - 0.01) assert.equal(colours.size, 2);

    // The heatmap covers the whole text, prompt and output, once generation ends.
    const attentionResponse = await attention;
    assert.equal(attentionResponse.status(), 200, await attentionResponse.text());
    const attended = (await attentionResponse.json()) as { tokens: string[]; layers: number; heads: number; weights: number[][][][] };
    const text = prompt + chunks.map((c) => c.text).join('');
    const textTokens = (await Tokenizer.fromPretrained(modelDir)).encode(text, { addSpecialTokens: false }).ids.length;
    assert.equal(attended.tokens.length, textTokens);
    assert.deepEqual([attended.layers, attended.heads, attended.weights[1]![2]!.length], [2, 4, textTokens]);
    await page.waitForFunction(() => /layer 0, head 0$/.test(document.querySelector('#attn-status')?.textContent ?? ''));
    const first = await page.$eval('#heatmap', (c) => (c as HTMLCanvasElement).toDataURL());
    await page.selectOption('#layer', '1');
    await page.selectOption('#head', '2');
    assert.match(await page.textContent('#attn-status') ?? '', /layer 1, head 2$/);
    assert.ok(await bluePixels(page) > 0, 'the heatmap is blank');
    assert.notEqual(await page.$eval('#heatmap', (c) => (c as HTMLCanvasElement).toDataURL()), first, 'layer 1 head 2 drew the same picture as layer 0 head 0');

    assert.equal(await page.isHidden('#error'), true, await page.textContent('#error') ?? '');
    assert.deepEqual(pageErrors, []);

    await page.locator('#output .tok').nth(byProb[byProb.length >> 1]!.i).hover({ timeout: 5000 });
    const shot = process.env.TLM_UPDATE_SCREENSHOT === '1' ? join(process.cwd(), 'docs', 'playground.png') : join(tmp, 'playground.png');
    await page.screenshot({ path: shot, fullPage: true });
    assert.ok(statSync(shot).size > 10_000, `screenshot ${shot} is too small`);
  } finally {
    await browser.close();
    await app.close();
    rmSync(tmp, { recursive: true, force: true });
  }
});

test('playground: a model selector, a tab per task route of the chosen model; classify and answer through the page', async () => {
  checkPrerequisites();
  const tmp = mkdtempSync(join(tmpdir(), 'tlm-browser-tasks-'));
  // Task heads (random) on the bert-tiny fixture's body, saved with its tokenizer.
  const quiet = { warn: () => {} };
  await (await BertForSequenceClassification.fromPretrained(bertDir, quiet)).savePretrained(join(tmp, 'classifier'));
  await (await BertForQuestionAnswering.fromPretrained(bertDir, quiet)).savePretrained(join(tmp, 'reader'));
  for (const name of ['classifier', 'reader']) {
    for (const f of ['tokenizer.json', 'tokenizer_config.json', 'vocab.txt']) copyFileSync(join(bertDir, f), join(tmp, name, f));
  }
  const browser = await launchChromium();
  const app = await createServer({ models: [{ name: 'gpt2-tiny', dir: modelDir }, { name: 'classifier', dir: join(tmp, 'classifier') }, { name: 'reader', dir: join(tmp, 'reader') }] });
  try {
    const page = await browser.newPage();
    const pageErrors: string[] = [];
    page.on('pageerror', (e) => pageErrors.push(e.message));
    await page.goto(await app.listen({ host: '127.0.0.1', port: 0 }));
    const tabs = () => page.$$eval('#tabs button', (bs) => bs.map((b) => b.textContent));
    await page.waitForSelector('#tabs button[aria-selected="true"]');
    assert.equal(await page.isVisible('#model-label'), true);
    assert.deepEqual(await page.$$eval('#model option', (os) => os.map((o) => o.textContent)), ['gpt2-tiny', 'classifier', 'reader']);
    assert.deepEqual(await tabs(), ['Generate']);

    await page.selectOption('#model', 'classifier');
    assert.deepEqual(await tabs(), ['Classify']);
    assert.deepEqual([await page.isVisible('#panel-classify'), await page.isVisible('#panel-generate')], [true, false]);
    const texts = ['To be, or not to be', 'a plague on both your houses'];
    await page.fill('#classify-input', texts.join('\n'));
    const classified = page.waitForResponse((r) => r.url().endsWith('/v1/classify'));
    await page.click('#classify');
    const result = (await (await classified).json()) as { data: { label: string; probs: Record<string, number> }[] };
    await page.waitForSelector('#classify-output .classification >> nth=1');
    const shown = await page.$$eval('#classify-output .classification', (boxes) => boxes.map((b) => ({
      title: b.querySelector('p')!.textContent, bars: Array.from(b.querySelectorAll('.bar-label'), (l) => l.textContent),
    })));
    assert.deepEqual(shown, result.data.map((c, i) => ({
      title: `${texts[i]} → ${c.label}`,
      bars: Object.entries(c.probs).sort((a, b) => b[1] - a[1]).map(([label, p]) => `${label} ${(100 * p).toFixed(1)}%`),
    })));

    await page.selectOption('#model', 'reader');
    assert.deepEqual(await tabs(), ['Answer']);
    const context = 'First Citizen: We are accounted poor citizens, the patricians good.';
    await page.fill('#question', 'Who is accounted poor?');
    await page.fill('#context', context);
    const answered = page.waitForResponse((r) => r.url().endsWith('/v1/answer'));
    await page.click('#answer');
    const answer = (await (await answered).json()) as { answer: string; start: number; end: number };
    await page.waitForSelector('#answer-output mark');
    assert.equal(await page.textContent('#answer-output strong'), answer.answer);
    assert.equal(await page.textContent('#answer-output mark'), context.slice(answer.start, answer.end));
    assert.equal(await page.isHidden('#error'), true, await page.textContent('#error') ?? '');
    assert.deepEqual(pageErrors, []);
  } finally {
    await browser.close();
    await app.close();
    rmSync(tmp, { recursive: true, force: true });
  }
});
