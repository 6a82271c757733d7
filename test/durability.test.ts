// Never lose a user's work (issue #16): a used --out is refused, a second concurrent run is refused,
// SIGINT saves and exits 0, SIGKILL at any moment leaves a loadable model, and every flag's range is
// checked before any work starts.

import test from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const bin = join(process.cwd(), 'dist', 'src', 'cli', 'bin.js');
const corpus = readFileSync(join(process.cwd(), 'data', 'tinyshakespeare.txt'), 'utf8').slice(0, 20000);
const tiny = ['--n-layer', '1', '--n-head', '2', '--n-embd', '32', '--block-size', '16', '--batch-size', '4', '--eval-iters', '1'];
const tlm = (args: string[]) => spawnSync(process.execPath, [bin, ...args], { encoding: 'utf8', timeout: 120_000 });

function scratch(): { dir: string; data: string; done(): void } {
  const dir = mkdtempSync(join(tmpdir(), 'tlm-durable-'));
  const data = join(dir, 'data.txt');
  writeFileSync(data, corpus);
  return { dir, data, done: () => rmSync(dir, { recursive: true, force: true }) };
}

function oneLineError(r: ReturnType<typeof tlm>, pattern: RegExp): void {
  assert.equal(r.status, 2, `exit status ${r.status}, stderr: ${r.stderr}`);
  const lines = r.stderr.trim().split('\n').filter((l) => !/^(tokenizer|model):/.test(l));
  assert.equal(lines.length, 1, `expected one error line, got:\n${r.stderr}`);
  assert.match(lines[0]!, pattern);
}

/** A long training run in a child process, and a promise of its exit. */
function startLongRun(data: string, out: string, extra: string[] = []): { proc: ChildProcess; exit: Promise<{ code: number | null; signal: string | null; stderr: string }> } {
  const proc = spawn(process.execPath, [bin, 'train', '--data', data, '--out', out, ...tiny, '--max-iters', '1000000', '--eval-interval', '25', ...extra],
    { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  proc.stderr!.on('data', (b: Buffer) => { stderr += b.toString(); });
  const exit = new Promise<{ code: number | null; signal: string | null; stderr: string }>((resolve) => {
    proc.on('exit', (code, signal) => resolve({ code, signal, stderr }));
  });
  return { proc, exit };
}

/** Resolves once `cond` holds (polled), or rejects after `ms`. */
async function until(cond: () => boolean, ms = 60_000): Promise<void> {
  const t0 = Date.now();
  while (!cond()) {
    if (Date.now() - t0 > ms) throw new Error('timed out waiting');
    await new Promise((r) => setTimeout(r, 10));
  }
}

const metricLines = (out: string) => existsSync(join(out, 'metrics.jsonl')) ? readFileSync(join(out, 'metrics.jsonl'), 'utf8').trim().split('\n').filter(Boolean).length : 0;

/** tlm generate loads the directory and produces text. */
function assertLoadable(out: string): void {
  const g = tlm(['generate', '--model', out, '--prompt', 'A', '--max-new-tokens', '3']);
  assert.equal(g.status, 0, `tlm generate --model ${out} failed: ${g.stderr}\n${readdirSync(out).join(', ')}`);
}

test('a used --out is refused; --overwrite replaces it with fresh metrics; --resume continues it', { timeout: 120_000 }, () => {
  const s = scratch();
  try {
    const out = join(s.dir, 'out');
    const run = (extra: string[]) => tlm(['train', '--data', s.data, '--out', out, ...tiny, '--quiet', '--eval-interval', '5', ...extra]);
    assert.equal(run(['--max-iters', '10']).status, 0);
    const before = readFileSync(join(out, 'model.safetensors'));
    const again = run(['--max-iters', '5']);
    oneLineError(again, /already holds a run \(config\.json, model\.safetensors, checkpoints, metrics\.jsonl\); pass --resume to continue it or --overwrite to replace it/);
    assert.deepEqual(readFileSync(join(out, 'model.safetensors')), before, 'the refused run changed the model');
    oneLineError(run(['--max-iters', '5', '--resume', '--overwrite']), /--resume and --overwrite contradict each other/);
    const over = run(['--max-iters', '5', '--overwrite']);
    assert.equal(over.status, 0, over.stderr);
    const steps = readFileSync(join(out, 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => (JSON.parse(l) as { step: number }).step);
    assert.deepEqual(steps, [0, 5], 'an overwrite starts a fresh metrics.jsonl');
    const resumed = run(['--max-iters', '10', '--resume']);
    assert.equal(resumed.status, 0, resumed.stderr);
    assert.match(resumed.stderr, /resumed from step 5/);
  } finally {
    s.done();
  }
});

test('a second concurrent run into one --out is refused; a stale lock is taken over', { timeout: 120_000 }, async () => {
  const s = scratch();
  try {
    const out = join(s.dir, 'out');
    const first = startLongRun(s.data, out, ['--quiet']);
    await until(() => metricLines(out) > 0);
    const second = tlm(['train', '--data', s.data, '--out', out, ...tiny, '--quiet', '--resume']);
    oneLineError(second, new RegExp(`is in use by another run \\(tlm train, pid ${first.proc.pid}, since .*\\); wait for it, or use another --out`));
    first.proc.kill('SIGKILL');
    await first.exit;
    // The killed run's lock names a dead process: the next run takes it over and says so.
    assert.ok(existsSync(join(out, '.tlm.lock')));
    const next = tlm(['train', '--data', s.data, '--out', out, ...tiny, '--quiet', '--resume', '--max-iters', '1']);
    assert.equal(next.status, 0, next.stderr);
    assert.match(next.stderr, /removing a stale lock/);
    assert.ok(!existsSync(join(out, '.tlm.lock')), 'the lock is released at the end');
  } finally {
    s.done();
  }
});

test('SIGINT at a random step: the step finishes, a checkpoint and the model are saved, exit 0', { timeout: 120_000 }, async () => {
  const s = scratch();
  try {
    const out = join(s.dir, 'out');
    // Evaluations far apart: the signal must be heard between two steps, not at the next evaluation.
    const run = startLongRun(s.data, out, ['--eval-interval', '1000000']);
    await until(() => metricLines(out) > 0);
    await new Promise((r) => setTimeout(r, Math.random() * 800));
    run.proc.kill('SIGINT');
    const { code, stderr } = await run.exit;
    assert.equal(code, 0, stderr);
    assert.match(stderr, /SIGINT: finishing the step, then saving a checkpoint and the model/);
    const m = /interrupted at step (\d+): checkpoint saved/.exec(stderr);
    assert.ok(m, stderr.slice(-500));
    const latest = JSON.parse(readFileSync(join(out, 'checkpoints', 'latest.json'), 'utf8')) as { step: number };
    assert.equal(latest.step, Number(m[1]), 'the checkpoint holds the last finished step');
    assertLoadable(out);
    // The run is marked unfinished (with its step) until a run reaches the end.
    assert.equal((JSON.parse(readFileSync(join(out, '.tlm.unfinished'), 'utf8')) as { step: number }).step, latest.step);
    const resumed = tlm(['train', '--data', s.data, '--out', out, ...tiny, '--quiet', '--resume', '--max-iters', String(latest.step + 2)]);
    assert.equal(resumed.status, 0, resumed.stderr);
    assert.match(resumed.stderr, new RegExp(`resumed from step ${latest.step}`));
    assert.ok(!existsSync(join(out, '.tlm.unfinished')), 'a finished run removes the mark');
  } finally {
    s.done();
  }
});

test('SIGTERM saves as SIGINT does', { timeout: 120_000 }, async () => {
  const s = scratch();
  try {
    const out = join(s.dir, 'term');
    const run = startLongRun(s.data, out, ['--quiet']);
    await until(() => metricLines(out) > 0);
    run.proc.kill('SIGTERM');
    const { code, stderr } = await run.exit;
    assert.equal(code, 0, stderr);
    assert.match(stderr, /SIGTERM: finishing the step/);
    assertLoadable(out);
  } finally {
    s.done();
  }
});

test('SIGKILL at random moments (10 trials) always leaves a model tlm generate loads', { timeout: 300_000 }, async () => {
  const s = scratch();
  try {
    for (let trial = 0; trial < 10; trial++) {
      const out = join(s.dir, `out${trial}`);
      const run = startLongRun(s.data, out, ['--quiet', '--eval-interval', String(1 + trial)]);
      await until(() => metricLines(out) > 0);
      await new Promise((r) => setTimeout(r, Math.random() * 400));
      run.proc.kill('SIGKILL');
      const { signal } = await run.exit;
      assert.equal(signal, 'SIGKILL');
      assertLoadable(out);
      assert.ok(existsSync(join(out, '.tlm.unfinished')), 'a killed run stays marked unfinished');
    }
  } finally {
    s.done();
  }
});

test('every numeric flag is range-checked, for every command, with one message shape', () => {
  const s = scratch();
  try {
    const train = (...a: string[]) => tlm(['train', '--data', s.data, '--out', join(s.dir, 'never'), ...a]);
    const cases: [string[], RegExp][] = [
      [['--lr=-1'], /tlm train: --lr must be a number > 0, got -1/],
      [['--beta1', '2'], /tlm train: --beta1 must be a number in \[0, 1\), got 2/],
      [['--weight-decay', '-0.1'], /tlm train: --weight-decay must be a number >= 0, got -0\.1/],
      [['--warmup-iters', '-5'], /tlm train: --warmup-iters must be a non-negative integer, got -5/],
      [['--grad-clip', '-1'], /tlm train: --grad-clip must be a number >= 0, got -1/],
      [['--min-lr', '0.01', '--lr', '0.001'], /tlm train: --min-lr 0\.01 must not exceed --lr 0\.001/],
      [['--eval-interval', '0'], /tlm train: --eval-interval must be a positive integer, got 0/],
      [['--batch-size', '2.5'], /tlm train: --batch-size must be a positive integer, got 2\.5/],
      [['--dropout', '1'], /tlm train: --dropout must be a number in \[0, 1\), got 1/],
    ];
    for (const [args, re] of cases) oneLineError(train(...args), re);
    assert.ok(!existsSync(join(s.dir, 'never')), 'a refused run creates nothing');
    // tlm eval: flags that used to hang, exhaust the heap or leak internal errors.
    assert.equal(tlm(['train', '--data', s.data, '--out', join(s.dir, 'm'), ...tiny, '--quiet', '--max-iters', '2', '--eval-interval', '2']).status, 0);
    const ev = (...a: string[]) => tlm(['eval', '--model', join(s.dir, 'm'), '--data', s.data, ...a]);
    oneLineError(ev('--batch-size', '0'), /tlm eval: --batch-size must be a positive integer, got 0/);
    oneLineError(ev('--block-size', '0'), /tlm eval: --block-size must be a positive integer, got 0/);
    oneLineError(ev('--block-size', '1.5'), /tlm eval: --block-size must be a positive integer, got 1\.5/);
    oneLineError(ev('--ngram-order', '50'), /tlm eval: --ngram-order must be an integer in \[0, 10\], got 50/);
    oneLineError(ev('--ngram-order', '2.5'), /tlm eval: --ngram-order must be an integer in \[0, 10\], got 2\.5/);
    oneLineError(tlm(['eval', '--data', s.data]), /tlm eval: --model DIR is required/);
    oneLineError(tlm(['eval', '--model', join(s.dir, 'm'), '--data', join(s.dir, 'nope.txt')]), /^tlm eval: data file not found/);
    oneLineError(tlm(['demo', '--max-iters', '0']), /tlm demo: --max-iters must be a positive integer, got 0/);
    oneLineError(tlm(['generate', '--model', join(s.dir, 'm'), '--prompt', 'A', '--top-p', '1.5']), /tlm generate: --top-p must be a number in \(0, 1\], got 1\.5/);
  } finally {
    s.done();
  }
});

test('text that is not UTF-8 is refused with the byte offset; a BOM is dropped; NUL bytes warn', { timeout: 60_000 }, () => {
  const s = scratch();
  try {
    const run = (file: string, ...a: string[]) => tlm(['train', '--data', file, '--out', join(s.dir, `o-${Math.random()}`), ...tiny, '--quiet', '--max-iters', '1', ...a]);
    const latin1 = join(s.dir, 'latin1.txt');
    const text = Buffer.from(corpus.slice(0, 3000), 'utf8');
    writeFileSync(latin1, Buffer.concat([text, Buffer.from('caf\xe9 cr\xe8me\n', 'latin1'), text]));
    oneLineError(run(latin1), new RegExp(`latin1\\.txt is not valid UTF-8: invalid byte sequence E9 20 .* at byte ${text.length + 3}; convert it to UTF-8 .*or pass --lossy-utf8`));
    assert.equal(run(latin1, '--lossy-utf8').status, 0, 'lossy decoding is accepted when asked for');
    const utf16 = join(s.dir, 'utf16.txt');
    writeFileSync(utf16, Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(corpus.slice(0, 3000), 'utf16le')]));
    oneLineError(run(utf16), /utf16\.txt is not valid UTF-8: it starts with a UTF-16 byte-order mark \(FF FE\) at byte 0/);
    const bom = join(s.dir, 'bom.txt');
    writeFileSync(bom, Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), text]));
    const out = join(s.dir, 'bom-out');
    assert.equal(tlm(['train', '--data', bom, '--out', out, ...tiny, '--quiet', '--max-iters', '1']).status, 0);
    const vocab = (JSON.parse(readFileSync(join(out, 'tokenizer.json'), 'utf8')) as { model: { vocab: Record<string, number> } }).model.vocab;
    assert.ok(!('\ufeff' in vocab), 'the BOM became a token');
    const nul = join(s.dir, 'nul.txt');
    writeFileSync(nul, Buffer.concat([text, Buffer.from([0]), text]));
    const r = run(nul);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stderr, new RegExp(`warning: .*nul\\.txt has NUL bytes \\(first at byte ${text.length}\\)`));
  } finally {
    s.done();
  }
});

test('filesystem errors name the path and the cause; a corrupt latest.json names the file', { timeout: 60_000 }, () => {
  const s = scratch();
  try {
    writeFileSync(join(s.dir, 'afile'), 'x');
    oneLineError(tlm(['train', '--data', s.data, '--out', join(s.dir, 'afile', 'sub'), ...tiny]),
      /cannot create the output directory .*afile\/sub: a part of the path is a file, not a directory \(ENOTDIR\)/);
    oneLineError(tlm(['train', '--data', s.data, '--out', join(s.dir, 'afile'), ...tiny]), /--out .*afile is a file, not a directory/);
    const out = join(s.dir, 'out');
    assert.equal(tlm(['train', '--data', s.data, '--out', out, ...tiny, '--quiet', '--max-iters', '2', '--eval-interval', '2']).status, 0);
    const latest = join(out, 'checkpoints', 'latest.json');
    writeFileSync(latest, '{"dir": "step-\u0001');
    oneLineError(tlm(['train', '--data', s.data, '--out', out, ...tiny, '--quiet', '--resume']), /checkpoints\/latest\.json is corrupt \(.*\); delete it/);
    writeFileSync(latest, JSON.stringify({ dir: '../../elsewhere', step: 2 }));
    oneLineError(tlm(['train', '--data', s.data, '--out', out, ...tiny, '--quiet', '--resume']), /latest\.json is corrupt: "dir" must name a checkpoint here \(step-NNNNNNN or resume-NNNNNNN\), got "\.\.\/\.\.\/elsewhere"/);
    // A half-written checkpoint directory from a failed write is removed at the next save.
    writeFileSync(latest, JSON.stringify({ dir: 'step-0000002', step: 2 }));
    mkdirSync(join(out, 'checkpoints', '.best.tmp-99999'));
    assert.equal(tlm(['train', '--data', s.data, '--out', out, ...tiny, '--quiet', '--resume', '--max-iters', '4', '--eval-interval', '2']).status, 0);
    assert.ok(!existsSync(join(out, 'checkpoints', '.best.tmp-99999')));
  } finally {
    s.done();
  }
});

test('prompt characters outside a character vocabulary are warned about, once', { timeout: 60_000 }, () => {
  const s = scratch();
  try {
    const out = join(s.dir, 'm');
    assert.equal(tlm(['train', '--data', s.data, '--out', out, ...tiny, '--quiet', '--max-iters', '1']).status, 0);
    const g = tlm(['generate', '--model', out, '--prompt', 'ROMEO€ ñ€', '--max-new-tokens', '2']);
    assert.equal(g.status, 0, g.stderr);
    const warnings = g.stderr.split('\n').filter((l) => l.includes('warning'));
    assert.equal(warnings.length, 1);
    assert.match(warnings[0]!, /vocabulary has no "€", "ñ"; .*replaced by \[UNK\]/);
    const ok = tlm(['generate', '--model', out, '--prompt', 'ROMEO', '--max-new-tokens', '2']);
    assert.doesNotMatch(ok.stderr, /warning/);
  } finally {
    s.done();
  }
});
