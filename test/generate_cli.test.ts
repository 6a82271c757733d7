// `tlm generate` end to end on the gpt2-tiny fixture: the streamed text equals the library's greedy
// tokens decoded, stop strings cut the output, sampling is reproducible with --seed, and bad input
// ends with a one-line error (exit status 2).

import test from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import '../src/index.js';
import { fromPretrained } from '../src/models/index.js';
import { Tokenizer } from '../src/tokenizers/index.js';

const dir = join(process.cwd(), 'test', 'fixtures', 'hf', 'gpt2-tiny');
// The CLI built next to this test (dist/ under npm test, or any other outDir).
const bin = fileURLToPath(new URL('../src/cli/bin.js', import.meta.url));
const tlm = (args: string[]) => spawnSync(process.execPath, [bin, 'generate', ...args], { encoding: 'utf8', timeout: 120_000 });

function oneLineError(r: ReturnType<typeof tlm>, pattern: RegExp): void {
  assert.equal(r.status, 2, `exit status ${r.status}, stderr: ${r.stderr}`);
  const lines = r.stderr.trim().split('\n');
  assert.equal(lines.length, 1, `expected one error line, got:\n${r.stderr}`);
  assert.match(lines[0]!, pattern);
  assert.equal(r.stdout, '');
}

test('tlm generate streams the greedy continuation the library computes', async () => {
  const prompt = 'First Citizen:\nBefore we';
  const model = await fromPretrained(dir);
  const tok = await Tokenizer.fromPretrained(dir);
  const ids = Array.from(tok.encode(prompt, { addSpecialTokens: false }).ids);
  const out = (await model.generate([ids], { maxNewTokens: 12 }))[0]!;
  const continuation = tok.decode(out.slice(ids.length), { skipSpecialTokens: true });
  const r = tlm(['--model', dir, '--prompt', prompt, '--max-new-tokens', '12']);
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stdout, `${prompt}${continuation}\n`);
  const only = tlm(['--model', dir, '--prompt', prompt, '--max-new-tokens', '12', '--no-prompt']);
  assert.equal(only.stdout, `${continuation}\n`);
  // A stop string from inside the continuation: the output ends right before it.
  const stop = continuation.slice(3, 5);
  const cut = tlm(['--model', dir, '--prompt', prompt, '--max-new-tokens', '12', '--no-prompt', '--stop', stop]);
  assert.equal(cut.stdout, `${continuation.slice(0, continuation.indexOf(stop))}\n`);
  // Beam search prints its best hypothesis.
  const beam = tlm(['--model', dir, '--prompt', prompt, '--max-new-tokens', '6', '--num-beams', '3']);
  assert.equal(beam.status, 0, beam.stderr);
  assert.ok(beam.stdout.startsWith(prompt));
});

test('tlm generate: sampling with --seed is reproducible; --temperature 0 is greedy', () => {
  const args = ['--model', dir, '--prompt', 'Zebras', '--max-new-tokens', '15', '--temperature', '1.3', '--top-k', '0', '--top-p', '0.95', '--repetition-penalty', '1.2'];
  const a = tlm([...args, '--seed', '7']), b = tlm([...args, '--seed', '7']);
  assert.equal(a.status, 0, a.stderr);
  assert.equal(a.stdout, b.stdout);
  const greedy = tlm(['--model', dir, '--prompt', 'Zebras', '--max-new-tokens', '15']);
  assert.equal(tlm(['--model', dir, '--prompt', 'Zebras', '--max-new-tokens', '15', '--temperature', '0']).stdout, greedy.stdout);
});

test('tlm generate: bad input is a one-line error', () => {
  const tmp = mkdtempSync(join(tmpdir(), 'tlm-gen-'));
  try {
    oneLineError(tlm(['--model', join(tmp, 'missing'), '--prompt', 'x']), /model directory not found: .*missing/);
    oneLineError(tlm(['--model', tmp, '--prompt', 'x']), /config\.json is missing/);
    writeFileSync(join(tmp, 'config.json'), '{}');
    oneLineError(tlm(['--model', tmp, '--prompt', 'x']), /model\.safetensors is missing/);
    oneLineError(tlm(['--prompt', 'x']), /--model DIR is required/);
    oneLineError(tlm(['--model', dir]), /--prompt TEXT is required/);
    oneLineError(tlm(['--model', dir, '--prompt', 'x', '--top-p', '1.5']), /--top-p must be a number in \(0, 1\], got 1\.5/);
    oneLineError(tlm(['--model', dir, '--prompt', 'x', '--num-beams', '0']), /--num-beams must be a positive integer/);
    // Sampling continues past the context in windows; beam search cannot, and says so.
    oneLineError(tlm(['--model', dir, '--prompt', 'x', '--max-new-tokens', '1000', '--num-beams', '2']), /exceeds the model's context of 128 positions/);
    oneLineError(tlm(['--model', dir, '--prompt', 'x', '--num-beams', '2', '--temperature', '0.5']), /does not combine with sampling/);
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
});
