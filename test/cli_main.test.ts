// The tlm command's entry point: help with no arguments or --help (exit 0), --version, and an
// unknown command as a one-line error (exit 2). Runs the built bin, as a user's shell would.

import test from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

const bin = join(process.cwd(), 'dist', 'src', 'cli', 'bin.js');
const tlm = (args: string[]) => spawnSync(process.execPath, [bin, ...args], { encoding: 'utf8', timeout: 60_000 });
const COMMANDS = ['tokenizer', 'train', 'generate', 'eval', 'demo', 'bench'];

test('tlm with no arguments prints the help on stdout and exits 0', () => {
  const r = tlm([]);
  assert.equal(r.status, 0, `exit status ${r.status}, stderr: ${r.stderr}`);
  assert.equal(r.stderr, '');
  assert.match(r.stdout, /^Usage: tlm <command> \[flags\]\n/);
  for (const name of COMMANDS) assert.match(r.stdout, new RegExp(`^  ${name} +\\S`, 'm'), `command ${name} listed`);
  assert.match(r.stdout, /Run tlm <command> --help for the flags of a command\.\n$/);
});

test('tlm --help, -h and help print the same text as no arguments, exit 0', () => {
  const plain = tlm([]).stdout;
  for (const flag of ['--help', '-h', 'help']) {
    const r = tlm([flag]);
    assert.equal(r.status, 0, `${flag}: exit status ${r.status}`);
    assert.equal(r.stdout, plain, flag);
  }
});

test("tlm --version prints package.json's version; an unknown command is a one-line error, exit 2", () => {
  const v = tlm(['--version']);
  assert.equal(v.status, 0);
  const pkg = JSON.parse(readFileSync(join(process.cwd(), 'package.json'), 'utf8')) as { version: string };
  assert.equal(v.stdout, `tlm ${pkg.version}\n`);
  const r = tlm(['frobnicate']);
  assert.equal(r.status, 2);
  assert.equal(r.stdout, '');
  assert.equal(r.stderr, "tlm: unknown command 'frobnicate' (see tlm --help)\n");
});
