import test from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { models } from '../src/index.js';

const bin = join(process.cwd(), 'dist', 'src', 'cli', 'bin.js');
const shakespeare = join(process.cwd(), 'data', 'tinyshakespeare.txt');
const tlm = (args: string[]) => spawnSync(process.execPath, [bin, ...args], { encoding: 'utf8', timeout: 120_000 });
const tiny = ['--n-layer', '1', '--n-head', '2', '--n-embd', '32', '--block-size', '16', '--batch-size', '4', '--eval-iters', '1', '--quiet'];

function oneLineError(r: ReturnType<typeof tlm>, pattern: RegExp): void {
  assert.equal(r.status, 2, `exit status ${r.status}, stderr: ${r.stderr}`);
  const lines = r.stderr.trim().split('\n').filter((l) => !/^(tokenizer|model):/.test(l));
  assert.equal(lines.length, 1, `expected one error line, got:\n${r.stderr}`);
  assert.match(lines[0]!, pattern);
}

test('tlm train: bad input ends with a one-line error naming the problem', () => {
  const dir = mkdtempSync(join(tmpdir(), 'tlm-cli-'));
  try {
    oneLineError(tlm(['train', '--data', join(dir, 'missing.txt')]), /data file not found: .*missing\.txt/);
    writeFileSync(join(dir, 'empty.txt'), '');
    oneLineError(tlm(['train', '--data', join(dir, 'empty.txt')]), /data file is empty/);
    writeFileSync(join(dir, 'small.txt'), 'to be or not to be\n');
    oneLineError(tlm(['train', '--data', join(dir, 'small.txt'), '--out', join(dir, 'o')]), /--block-size 64 is larger than the data allows/);
    oneLineError(tlm(['train', '--data', join(dir, 'small.txt'), '--bogus', '1']), /Unknown option '--bogus'/);
    oneLineError(tlm(['train', '--data', join(dir, 'small.txt'), '--n-layer', 'x']), /--n-layer expects a number, got 'x'/);
    oneLineError(tlm(['frobnicate']), /unknown command 'frobnicate'/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('tlm train → HF-layout model dir; eval; resume refuses another architecture', { timeout: 180_000 }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'tlm-cli-'));
  try {
    const out = join(dir, 'model');
    const r = tlm(['train', '--data', shakespeare, ...tiny, '--max-iters', '6', '--eval-interval', '3', '--out', out]);
    assert.equal(r.status, 0, r.stderr);
    for (const f of ['config.json', 'model.safetensors', 'tokenizer.json', 'metrics.jsonl', 'loss.svg']) assert.ok(existsSync(join(out, f)), f);
    const config = JSON.parse(readFileSync(join(out, 'config.json'), 'utf8')) as { architectures: string[]; n_layer: number };
    assert.deepEqual(config.architectures, ['GPT2LMHeadModel']);
    assert.equal(config.n_layer, 1);
    const model = await models.fromPretrained(out);
    assert.equal(model.numParameters(), 1 * (12 * 32 * 32 + 13 * 32) + 16 * 32 + 66 * 32 + 2 * 32);
    const ev = tlm(['eval', '--model', out, '--data', shakespeare, '--max-tokens', '2000']);
    assert.equal(ev.status, 0, ev.stderr);
    assert.match(ev.stdout, /model\s+loss \d+\.\d+\s+perplexity/);
    assert.match(ev.stdout, /3-gram KN loss \d+\.\d+\s+perplexity/);
    // nanoGPT's variant: no biases, exact GELU; config.json records it and loading rebuilds it.
    const plain = join(dir, 'nobias');
    const nb = tlm(['train', '--data', shakespeare, ...tiny, '--max-iters', '2', '--eval-interval', '2', '--no-bias', '--activation', 'gelu', '--out', plain]);
    assert.equal(nb.status, 0, nb.stderr);
    const nbConfig = JSON.parse(readFileSync(join(plain, 'config.json'), 'utf8')) as { bias: boolean; activation_function: string };
    assert.equal(nbConfig.bias, false);
    assert.equal(nbConfig.activation_function, 'gelu');
    const nbModel = await models.fromPretrained(plain);
    assert.equal(nbModel.numParameters(), 12 * 32 * 32 + 16 * 32 + 66 * 32 + 3 * 32);
    const bad = tlm(['train', '--data', shakespeare, ...tiny, '--n-layer', '2', '--max-iters', '6', '--out', out, '--resume']);
    oneLineError(bad, /checkpoint in .* is for another architecture: dims\.nLayer 1 in the checkpoint vs 2 now/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
