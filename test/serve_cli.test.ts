// The real `tlm serve` process: prints its URL, takes the API key from TLM_API_KEY, and on SIGTERM
// finishes the stream in flight, refuses new requests, then exits 0. Bad flags are one-line errors.

import test, { after, before } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { GPT2_DIR, slowGpt2, tempDir } from './helpers/serve.js';

const bin = fileURLToPath(new URL('../src/cli/bin.js', import.meta.url));
let slowDir: string;
before(async () => { slowDir = await slowGpt2(); });

const children: ChildProcess[] = [];
after(() => { for (const c of children) if (c.exitCode === null) c.kill('SIGKILL'); });

/** Starts `tlm serve ARGS`; resolves with the child and the URL it printed. */
function start(args: string[], env: Record<string, string> = {}): Promise<{ child: ChildProcess; url: string; exit: Promise<number | null>; stderr: () => string }> {
  const child = spawn(process.execPath, [bin, 'serve', ...args, '--port', '0'], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(child);
  let out = '', err = '';
  child.stderr!.on('data', (c: Buffer) => { err += c.toString(); });
  const exit = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return new Promise((resolve, reject) => {
    child.stdout!.on('data', (c: Buffer) => {
      out += c.toString();
      const m = /listening on (http:\/\/\S+)/.exec(out);
      if (m) resolve({ child, url: m[1]!, exit, stderr: () => err });
    });
    void exit.then((code) => reject(new Error(`tlm serve exited (${code}) before listening: ${err}`)));
  });
}

test('SIGTERM: the stream in flight completes, new requests are refused, the process exits 0', { timeout: 120_000 }, async () => {
  const key = 'sk-from-env';
  const { child, url, exit, stderr } = await start(['--model', `slow=${slowDir}`, '--model', GPT2_DIR], { TLM_API_KEY: key });
  const headers = { 'content-type': 'application/json', authorization: `Bearer ${key}` };
  // The key came from the environment; the fixture is named after its directory.
  assert.equal((await fetch(`${url}/v1/models`)).status, 401);
  const models = await (await fetch(`${url}/v1/models`, { headers })).json() as { data: { id: string }[] };
  assert.deepEqual(models.data.map((m) => m.id), ['slow', 'gpt2-tiny']);

  const r = await fetch(`${url}/v1/completions`, { method: 'POST', headers, body: JSON.stringify({ model: 'slow', prompt: 'Once', max_tokens: 300, temperature: 0, stream: true }) });
  assert.equal(r.status, 200);
  const reader = r.body!.getReader();
  let text = '';
  const dec = new TextDecoder();
  while (!text.includes('\n\n')) text += dec.decode((await reader.read()).value, { stream: true });
  child.kill('SIGTERM');
  await new Promise((res) => setTimeout(res, 100));
  // New requests: 503 while draining, or the connection is refused once the server closed.
  const refused = await fetch(`${url}/v1/completions`, { method: 'POST', headers, body: JSON.stringify({ model: 'gpt2-tiny', prompt: 'x', max_tokens: 2 }) })
    .then((res) => res.status, () => 'connection refused');
  assert.ok(refused === 503 || refused === 'connection refused', `a new request got ${refused}`);
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    text += dec.decode(value, { stream: true });
  }
  const events = text.split('\n\n').filter((e) => e !== '');
  assert.equal(events.at(-1), 'data: [DONE]');
  const chunks = events.slice(0, -1).map((e) => JSON.parse(e.slice(6)) as { choices: { finish_reason: string | null }[] });
  assert.equal(chunks.at(-1)!.choices[0]!.finish_reason, 'length');
  assert.equal(await exit, 0, stderr());
  assert.match(stderr(), /SIGTERM: finishing requests in flight/);
});

test('tlm serve: bad flags and models are one-line errors (exit 2)', () => {
  const run = (args: string[]) => spawnSync(process.execPath, [bin, 'serve', ...args], { encoding: 'utf8', timeout: 60_000 });
  const one = (r: ReturnType<typeof run>, pattern: RegExp) => {
    assert.equal(r.status, 2, r.stderr);
    assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
    assert.match(r.stderr, pattern);
  };
  one(run([]), /--model DIR is required/);
  one(run(['--model', join(tempDir(), 'missing')]), /model directory not found/);
  one(run(['--model', GPT2_DIR, '--model', GPT2_DIR]), /two models are named 'gpt2-tiny'/);
  one(run(['--model', GPT2_DIR, '--port', '70000']), /--port must be/);
  one(run(['--model', GPT2_DIR, '--api-key', '']), /must not be empty/);
});
