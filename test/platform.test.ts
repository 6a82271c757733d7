// The platform boundary of issue #13: the core reaches files only through the injected file system
// (src/io/files.ts), its path rules match Node's, no core module imports a Node module, and a
// module loaded on its own works (no late binding that another import must complete).

import test from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import * as nodePath from 'node:path';
import { fileURLToPath } from 'node:url';
import { fileSystem, setFileSystem, type FileSystem } from '../src/io/files.js';
import { posixPath } from '../src/io/path.js';
import { Tokenizer } from '../src/tokenizers/tokenizer.js';
import { models } from '../src/index.js';

const root = nodePath.join(nodePath.dirname(fileURLToPath(import.meta.url)), '..', '..');

test('posixPath follows node:path.posix', () => {
  const cases = ['a/b/../c', '/a//b/./c/', '../x/../../y', '/..', '.', '', 'a/', '/', 'x/y/z.json'];
  for (const p of cases) {
    assert.equal(posixPath.normalize(p), nodePath.posix.normalize(p).replace(/(.)\/$/, '$1'), `normalize ${JSON.stringify(p)}`);
    if (p) {
      assert.equal(posixPath.dirname(p), nodePath.posix.dirname(p), `dirname ${JSON.stringify(p)}`);
      assert.equal(posixPath.basename(p), nodePath.posix.basename(p), `basename ${JSON.stringify(p)}`);
    }
    assert.equal(posixPath.isAbsolute(p), nodePath.posix.isAbsolute(p));
  }
  assert.equal(posixPath.join('/models', 'gpt2', '../bert', 'config.json'), nodePath.posix.join('/models', 'gpt2', '../bert', 'config.json'));
  assert.equal(posixPath.join('a', '', 'b'), nodePath.posix.join('a', '', 'b'));
});

test('loaders read through an injected file system (as a browser would supply one)', async () => {
  const json = readFileSync(nodePath.join(root, 'test/fixtures/hf/gpt2-tiny/tokenizer.json'), 'utf8');
  const config = readFileSync(nodePath.join(root, 'test/fixtures/hf/gpt2-tiny/config.json'), 'utf8');
  const files = new Map([['/virtual/tok/tokenizer.json', json], ['/virtual/model/config.json', config]]);
  const reads: string[] = [];
  const virtual = {
    existsSync: (p: string) => files.has(p),
    promises: {
      readFile: async (p: string) => {
        reads.push(p);
        const text = files.get(p);
        if (text === undefined) throw Object.assign(new Error(`ENOENT: ${p}`), { code: 'ENOENT' });
        return text;
      },
    },
  } as unknown as FileSystem;
  setFileSystem(virtual);
  try {
    assert.equal(fileSystem(), virtual);
    const tok = await Tokenizer.fromFile('/virtual/tok/tokenizer.json');
    assert.ok(tok.encode('hello world').ids.length > 0);
    // No weights in the virtual directory: the loader looked there (not on disk) and says what is missing.
    await assert.rejects(models.fromPretrained('/virtual/model'), /model\.safetensors/);
    assert.ok(reads.includes('/virtual/tok/tokenizer.json') && reads.includes('/virtual/model/config.json'), reads.join(', '));
  } finally {
    setFileSystem(null);
  }
  assert.notEqual(fileSystem(), virtual);
});

test('no core module imports a Node module (the CLI, server and file pipelines may)', () => {
  const nodeOnly = /^(cli|serve|pipelines)\/|^backend\/cpu\/threads\/worker\.ts$/;
  const offenders: string[] = [];
  const walk = (dir: string, rel: string): void => {
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      const r = rel ? `${rel}/${e.name}` : e.name;
      if (e.isDirectory()) walk(nodePath.join(dir, e.name), r);
      else if (e.name.endsWith('.ts') && !nodeOnly.test(r)) {
        const code = readFileSync(nodePath.join(dir, e.name), 'utf8').split('\n').filter((l) => !/^\s*(\/\/|\*)/.test(l)).join('\n');
        // A type-only import vanishes at run time; anything else would load Node's module.
        if (/^import (?!type )[^;]*from '(node:[^']+)'/m.test(code) || /(?<!typeof )\bimport\('node:/.test(code) || /\brequire\(/.test(code)) offenders.push(r);
      }
    }
  };
  walk(nodePath.join(root, 'src'), '');
  assert.deepEqual(offenders, []);
});

test('a module imported on its own works: Tensor methods need no other import first', () => {
  const script = `const { tensor } = await import('./dist/src/tensor/ops/creation.js');
    process.stdout.write(String(tensor([1, 2, 3]).add(1).sum().item()));`;
  const out = execFileSync(process.execPath, ['--input-type=module', '-e', script], { cwd: root, encoding: 'utf8' });
  assert.equal(out, '9');
  const viaTensor = execFileSync(process.execPath, ['--input-type=module', '-e',
    `const { Tensor } = await import('./dist/src/tensor/tensor.js'); const { zeros } = await import('./dist/src/tensor/ops/creation.js');
     process.stdout.write(String(zeros([2, 2]).exp().sum().item()) + ' ' + (typeof Tensor));`], { cwd: root, encoding: 'utf8' });
  assert.equal(viaTensor, '4 function');
});
