// bench/recipes/common.sh: a pretraining stage stopped by SIGTERM (or Ctrl-C) stops the recipe once tlm
// has saved, instead of going on with a half-trained model (tlm itself exits 0 there), whether the
// signal reached the whole recipe or tlm alone; tlm's .tlm.unfinished marks the stage, a rerun
// resumes it from its checkpoint, and only a finished stage is reused. A recipe's own fine-tuning is a
// stage too: stopped, it is resumed by the same command (and never evaluated half-trained).

import test from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const common = join(process.cwd(), 'bench', 'recipes', 'common.sh');
const lines = readFileSync(join(process.cwd(), 'data', 'tinyshakespeare.txt'), 'utf8').split('\n').filter((l) => l.trim()).slice(0, 3000);

/** The three files stage 1 reads, in the layout of ../shared/data, from Tiny Shakespeare's lines. */
function fakeData(root: string): void {
  for (const d of ['sst2', 'multi30k', 'squad']) mkdirSync(join(root, d), { recursive: true });
  writeFileSync(join(root, 'sst2', 'train.tsv'), ['sentence\tlabel', ...lines.slice(0, 1500).map((l, i) => `${l}\t${i % 2}`)].join('\n') + '\n');
  writeFileSync(join(root, 'sst2', 'dev.tsv'), ['sentence\tlabel', ...lines.slice(2900, 3000).map((l, i) => `${l}\t${i % 2}`)].join('\n') + '\n');
  writeFileSync(join(root, 'multi30k', 'train.en'), lines.slice(1500).join('\n') + '\n');
  const paragraphs = [{ context: lines.slice(0, 40).join(' '), qas: [] }];
  writeFileSync(join(root, 'squad', 'dev-v1.1.json'), JSON.stringify({ version: '1.1', data: [{ title: 'x', paragraphs }] }));
}

/** Stage 1 of the shared pretraining (pretrain_mlm) for ITERS steps, as a recipe runs it. */
const stage = ['-c', `source "${common}"; pretrain_mlm "$PRETRAINED.base" 32 4; echo "stage finished"`];

/** The stage (or another bash command line) run by bash in its own process group, its output collected. */
function startStage(env: NodeJS.ProcessEnv, argv = stage) {
  const proc = spawn('bash', argv, { env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '', stderr = '';
  proc.stdout!.on('data', (b: Buffer) => { stdout += b.toString(); });
  proc.stderr!.on('data', (b: Buffer) => { stderr += b.toString(); });
  const exit = new Promise<number | null>((resolve) => proc.on('exit', (code) => resolve(code)));
  const until = async (ready: () => boolean, what: string) => {
    const t0 = Date.now();
    while (!ready()) {
      assert.ok(Date.now() - t0 < 240_000 && proc.exitCode === null, `${what}; stderr: ${stderr}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  };
  return { proc, exit, until, stdout: () => stdout, stderr: () => stderr };
}

test('recipes: SIGTERM to the recipe or to tlm alone stops the recipe, the stage stays unfinished; the rerun resumes it; a finished stage is reused', { timeout: 300_000 }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'tlm-recipe-'));
  try {
    fakeData(join(dir, 'data'));
    const env = { ...process.env, TLM_DATA: join(dir, 'data'), TLM_PRETRAINED: join(dir, 'mlm'), TLM_NUM_THREADS: '1' };
    const out = join(dir, 'mlm.base');

    // A long stage, stopped once its first checkpoint (step 250) is written.
    const first = startStage({ ...env, PRETRAIN_ITERS: '1000000' });
    await first.until(() => existsSync(join(out, 'checkpoints', 'latest.json')), 'no checkpoint appeared');
    process.kill(-first.proc.pid!, 'SIGTERM'); // the whole group, as a terminal's Ctrl-C reaches bash and tlm
    assert.equal(await first.exit, 143, first.stderr());
    assert.match(first.stderr(), /interrupted at step \d+: checkpoint saved/);
    assert.match(first.stderr(), new RegExp(`recipe: interrupted in ${out}; run the same command again to resume it`));
    assert.ok(!first.stdout().includes('stage finished'), 'the recipe went on past the interrupted stage');
    assert.ok(existsSync(join(out, '.tlm.unfinished')));

    // Resumed, then SIGTERM to tlm alone (which saves and exits 0): the recipe still stops there.
    const second = startStage({ ...env, PRETRAIN_ITERS: '1000000' });
    await second.until(() => /resumed from step \d+/.test(second.stderr()), 'the stage did not resume');
    const tlmPid = (JSON.parse(readFileSync(join(out, '.tlm.lock'), 'utf8')) as { pid: number }).pid;
    process.kill(tlmPid, 'SIGTERM');
    assert.equal(await second.exit, 1, second.stderr());
    assert.match(second.stderr(), new RegExp(`recipe: interrupted in ${out}; run the same command again to resume it`));
    assert.ok(!second.stdout().includes('stage finished'), 'the recipe went on past the stage tlm was stopped in');
    const unfinished = JSON.parse(readFileSync(join(out, '.tlm.unfinished'), 'utf8')) as { step: number };
    const stoppedAt = Number(/interrupted at step (\d+)/.exec(second.stderr())![1]);
    assert.equal(unfinished.step, stoppedAt);

    // The rerun resumes (here with fewer steps left, which --resume allows) and clears the mark.
    const resumed = spawnSync('bash', stage, { env: { ...env, PRETRAIN_ITERS: String(stoppedAt + 5) }, encoding: 'utf8' });
    assert.equal(resumed.status, 0, resumed.stderr);
    assert.match(resumed.stderr, new RegExp(`recipe: resuming ${out}`));
    assert.match(resumed.stderr, new RegExp(`resumed from step ${stoppedAt}\\b`));
    assert.match(resumed.stdout, /stage finished/);
    assert.ok(!existsSync(join(out, '.tlm.unfinished')));
    assert.match(resumed.stderr, new RegExp(`done: ${stoppedAt + 5} steps`));

    const reused = spawnSync('bash', stage, { env: { ...env, PRETRAIN_ITERS: String(stoppedAt + 5) }, encoding: 'utf8' });
    assert.equal(reused.status, 0, reused.stderr);
    assert.match(reused.stderr, new RegExp(`recipe: reusing the pretrained model in ${out}`));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('recipes: a recipe\'s own fine-tuning, stopped, is resumed by the same command; a finished one is trained afresh', { timeout: 300_000 }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'tlm-recipe-ft-'));
  try {
    fakeData(join(dir, 'data'));
    const env = { ...process.env, TLM_DATA: join(dir, 'data'), TLM_NUM_THREADS: '1' };
    const out = join(dir, 'scratch');
    const recipe = [join(process.cwd(), 'bench', 'recipes', 'sst2-scratch.sh'), out];
    // tlm eval's line of metrics (tlm finetune's own summary line names its "out").
    const evaluated = (stdout: string) => stdout.split('\n').some((l) => l.startsWith('{"') && l.includes('"accuracy"') && !l.includes('"out"'));

    const first = startStage({ ...env, EPOCHS: '1000' }, recipe);
    await first.until(() => existsSync(join(out, 'metrics.jsonl')), 'the fine-tuning did not start');
    process.kill(-first.proc.pid!, 'SIGTERM');
    assert.equal(await first.exit, 143, first.stderr());
    assert.match(first.stderr(), new RegExp(`recipe: interrupted in ${out}; run the same command again to resume it`));
    assert.ok(!evaluated(first.stdout()), `the recipe evaluated a half-trained model: ${first.stdout()}`);
    const stoppedAt = Number(/interrupted at step (\d+)/.exec(first.stderr())![1]);

    const resumed = spawnSync('bash', recipe, { env: { ...env, EPOCHS: '1' }, encoding: 'utf8' });
    assert.equal(resumed.status, 0, resumed.stderr);
    assert.match(resumed.stderr, new RegExp(`recipe: resuming ${out}`));
    assert.match(resumed.stderr, new RegExp(`resumed from step ${stoppedAt}\\b`));
    assert.ok(evaluated(resumed.stdout), resumed.stdout);
    assert.ok(!existsSync(join(out, '.tlm.unfinished')));

    const again = spawnSync('bash', recipe, { env: { ...env, EPOCHS: '1' }, encoding: 'utf8' });
    assert.equal(again.status, 0, again.stderr);
    assert.ok(!/resum/.test(again.stderr), again.stderr);
    assert.ok(evaluated(again.stdout), again.stdout);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
