import test from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadCheckpoint } from '../src/train/checkpoint.js';
import { trainTiny } from './helpers/train_child.js';

const child = join(process.cwd(), 'dist', 'test', 'helpers', 'train_child.js');

test('SIGKILL mid-run, then resume: same losses as an uninterrupted run, no torn checkpoint', { timeout: 120_000 }, async () => {
  assert.ok(existsSync(child), `no compiled child script at ${child}`);
  const dir = mkdtempSync(join(tmpdir(), 'tlm-kill-'));
  try {
    const full: Record<number, number> = {};
    await trainTiny(null, false, (s, l) => { full[s] = l; });
    // Start training in a child and kill it hard once a couple of checkpoints exist.
    const proc = spawn(process.execPath, [child, dir], { stdio: ['ignore', 'pipe', 'inherit'] });
    await new Promise<void>((resolve, reject) => {
      const timer = setInterval(() => {
        const latest = join(dir, 'checkpoints', 'latest.json');
        if (existsSync(latest) && (JSON.parse(readFileSync(latest, 'utf8')) as { step: number }).step >= 20) {
          clearInterval(timer);
          proc.kill('SIGKILL');
        }
      }, 5);
      proc.on('exit', (code, signal) => {
        clearInterval(timer);
        if (signal === 'SIGKILL') resolve();
        else reject(new Error(`child ended before the kill (${signal ?? code})`));
      });
    });
    // Whatever the moment of the kill, latest.json names a complete checkpoint.
    const ck = await loadCheckpoint(join(dir, 'checkpoints'));
    assert.ok(ck !== null && ck.state.step >= 20);
    const from = ck.state.step;
    for (const entry of readdirSync(join(dir, 'checkpoints'))) assert.ok(!entry.endsWith('.tmp'), `torn ${entry}`);
    const resumed: Record<number, number> = {};
    await trainTiny(dir, true, (s, l) => { resumed[s] = l; });
    const steps = Object.keys(resumed).map(Number);
    assert.equal(Math.min(...steps), from);
    for (const s of steps) assert.equal(resumed[s], full[s], `step ${s}`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
