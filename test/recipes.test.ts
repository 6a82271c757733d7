// bench/recipes/common.sh: a pretraining stage stopped by SIGTERM (or Ctrl-C) stops the recipe once tlm
// has saved, instead of going on with a half-trained model (tlm itself exits 0 there); the stage is
// marked, a rerun resumes it from its checkpoint, and only a finished stage is reused.

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
  writeFileSync(join(root, 'multi30k', 'train.en'), lines.slice(1500).join('\n') + '\n');
  const paragraphs = [{ context: lines.slice(0, 40).join(' '), qas: [] }];
  writeFileSync(join(root, 'squad', 'dev-v1.1.json'), JSON.stringify({ version: '1.1', data: [{ title: 'x', paragraphs }] }));
}

/** Stage 1 of the shared pretraining (pretrain_mlm) for ITERS steps, as a recipe runs it. */
const stage = ['-c', `source "${common}"; pretrain_mlm "$PRETRAINED.base" 32 4; echo "stage finished"`];

test('recipes: SIGTERM stops the recipe and marks the stage; the rerun resumes it; a finished stage is reused', { timeout: 300_000 }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'tlm-recipe-'));
  try {
    fakeData(join(dir, 'data'));
    const env = { ...process.env, TLM_DATA: join(dir, 'data'), TLM_PRETRAINED: join(dir, 'mlm'), TLM_NUM_THREADS: '1' };
    const out = join(dir, 'mlm.base');

    // A long stage, stopped once its first checkpoint (step 250) is written.
    const proc = spawn('bash', stage, { env: { ...env, PRETRAIN_ITERS: '1000000' }, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '', stderr = '';
    proc.stdout!.on('data', (b: Buffer) => { stdout += b.toString(); });
    proc.stderr!.on('data', (b: Buffer) => { stderr += b.toString(); });
    const exit = new Promise<number | null>((resolve) => proc.on('exit', (code) => resolve(code)));
    const t0 = Date.now();
    while (!existsSync(join(out, 'checkpoints', 'latest.json'))) {
      assert.ok(Date.now() - t0 < 240_000 && proc.exitCode === null, `no checkpoint appeared; stderr: ${stderr}`);
      await new Promise((r) => setTimeout(r, 50));
    }
    process.kill(-proc.pid!, 'SIGTERM'); // the whole group, as a terminal's Ctrl-C reaches bash and tlm
    assert.equal(await exit, 143, stderr);
    assert.match(stderr, /interrupted at step \d+: checkpoint saved/);
    assert.match(stderr, new RegExp(`recipe: interrupted in ${out}; run the same command again to resume it`));
    assert.ok(!stdout.includes('stage finished'), 'the recipe went on past the interrupted stage');
    assert.ok(existsSync(join(out, '.recipe-interrupted')));
    const stoppedAt = Number(/interrupted at step (\d+)/.exec(stderr)![1]);

    // The rerun resumes (here with fewer steps left, which --resume allows) and clears the mark.
    const resumed = spawnSync('bash', stage, { env: { ...env, PRETRAIN_ITERS: String(stoppedAt + 5) }, encoding: 'utf8' });
    assert.equal(resumed.status, 0, resumed.stderr);
    assert.match(resumed.stderr, new RegExp(`recipe: resuming ${out}`));
    assert.match(resumed.stderr, new RegExp(`resumed from step ${stoppedAt}\\b`));
    assert.match(resumed.stdout, /stage finished/);
    assert.ok(!existsSync(join(out, '.recipe-interrupted')));
    assert.match(resumed.stderr, new RegExp(`done: ${stoppedAt + 5} steps`));

    const reused = spawnSync('bash', stage, { env: { ...env, PRETRAIN_ITERS: String(stoppedAt + 5) }, encoding: 'utf8' });
    assert.equal(reused.status, 0, reused.stderr);
    assert.match(reused.stderr, new RegExp(`recipe: reusing the pretrained model in ${out}`));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
