// Translation end to end through the CLI (issue #11): a word-for-word toy language trained from
// scratch into a MarianMT-layout model, translated in batches with beam search, scored with BLEU;
// and bad parallel input as one-line errors.

import test from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const bin = join(process.cwd(), 'dist', 'src', 'cli', 'bin.js');
const tlm = (args: string[], input?: string) => spawnSync(process.execPath, [bin, ...args], { encoding: 'utf8', timeout: 240_000, input });

const DICT: Record<string, string> = { ein: 'a', hund: 'dog', katze: 'cat', rennt: 'runs', schläft: 'sleeps', rot: 'red', groß: 'big', klein: 'small', und: 'and', hier: 'here' };

function corpus(n: number, seed: number): { de: string[]; en: string[] } {
  let s = seed;
  const r = (k: number) => { s = (Math.imul(s, 1103515245) + 12345) >>> 0; return (s >>> 16) % k; };
  const words = Object.keys(DICT);
  const de: string[] = [], en: string[] = [];
  for (let i = 0; i < n; i++) {
    const line = Array.from({ length: 2 + r(4) }, () => words[r(words.length)]!);
    de.push(line.join(' '));
    en.push(line.map((w) => DICT[w]).join(' '));
  }
  return { de, en };
}

test('tlm finetune --task translate → tlm translate (batched beams, in order) → tlm eval --task translate', { timeout: 240_000 }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'tlm-mt-'));
  try {
    const train = corpus(1500, 1), val = corpus(30, 2);
    const w = (name: string, lines: string[]) => { writeFileSync(join(dir, name), lines.join('\n') + '\n'); return join(dir, name); };
    const [trDe, trEn, vaDe, vaEn] = [w('train.de', train.de), w('train.en', train.en), w('val.de', val.de), w('val.en', val.en)];
    const out = join(dir, 'model');
    const ft = tlm(['finetune', '--task', 'translate', '--from-scratch', '--n-layer', '1', '--n-head', '2', '--n-embd', '64', '--ffn-dim', '128',
      '--vocab-size', '300', '--source', trDe, '--target', trEn, '--eval-source', vaDe, '--eval-target', vaEn, '--max-tokens', '512',
      '--max-iters', '800', '--eval-interval', '400', '--lr', '3e-3', '--schedule', 'inverse_sqrt', '--warmup-iters', '50', '--dropout', '0',
      '--label-smoothing', '0.1', '--out', out, '--quiet']);
    assert.equal(ft.status, 0, ft.stderr);
    const cfg = JSON.parse(readFileSync(join(out, 'config.json'), 'utf8')) as { model_type: string; architectures: string[] };
    assert.equal(cfg.model_type, 'marian');
    assert.deepEqual(cfg.architectures, ['MarianMTModel']);
    const inputs = ['ein hund rennt', 'katze schläft und hund rennt', 'groß klein'];
    const tr = tlm(['translate', '--model', out, '--input', w('in.de', inputs), '--num-beams', '3', '--batch-size', '2']);
    assert.equal(tr.status, 0, tr.stderr);
    const lines = tr.stdout.trim().split('\n');
    assert.equal(lines.length, 3, 'one output line per input line');
    assert.deepEqual(lines, ['a dog runs', 'cat sleeps and dog runs', 'big small']);
    const ev = tlm(['eval', '--task', 'translate', '--model', out, '--source', vaDe, '--target', vaEn, '--num-beams', '2']);
    assert.equal(ev.status, 0, ev.stderr);
    const m = JSON.parse(ev.stdout) as { bleu: number; chrf: number; bleu_tok_lc: number; examples: number };
    assert.equal(m.examples, 30);
    assert.ok(m.bleu > 80 && m.chrf > 80, ev.stdout);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('translation input errors are one line naming the problem', { timeout: 60_000 }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'tlm-mt-'));
  try {
    const w = (name: string, text: string) => { writeFileSync(join(dir, name), text); return join(dir, name); };
    const one = (r: ReturnType<typeof tlm>, re: RegExp) => {
      assert.equal(r.status, 2, r.stderr);
      const lines = r.stderr.trim().split('\n').filter((l) => !/^tokenizer:/.test(l));
      assert.equal(lines.length, 1, r.stderr);
      assert.match(lines[0]!, re);
    };
    const base = ['finetune', '--task', 'translate', '--from-scratch', '--n-layer', '1', '--n-embd', '32', '--n-head', '2', '--vocab-size', '300', '--max-iters', '1', '--quiet'];
    const de = w('a.de', 'ein hund\nzwei katzen\n'), en = w('a.en', 'a dog\n');
    one(tlm([...base, '--source', de, '--target', en, '--eval-source', de, '--eval-target', en, '--out', join(dir, 'o1')]),
      /a\.de has 2 lines but .*a\.en has 1; parallel files must be line-aligned/);
    const en2 = w('b.en', 'a dog\n\n');
    one(tlm([...base, '--source', de, '--target', en2, '--eval-source', de, '--eval-target', en2, '--out', join(dir, 'o2')]), /b\.en: line 2: the target is empty/);
    const long = w('c.de', 'ein hund '.repeat(40) + '\nzwei\n'), en3 = w('c.en', 'a dog\ntwo\n');
    one(tlm([...base, '--source', long, '--target', en3, '--eval-source', long, '--eval-target', en3, '--max-source-length', '16', '--out', join(dir, 'o3')]),
      /line 1: the source has \d+ tokens \(with EOS\), more than --max-source-length 16; raise it, or pass --truncate/);
    one(tlm(['finetune', '--task', 'translate', '--from-scratch', '--source', de, '--out', join(dir, 'o4')]), /--source FILE --target FILE .* is required/);
    one(tlm(['translate', '--model', join(dir, 'none'), 'ein hund']), /tlm translate: model directory not found/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
