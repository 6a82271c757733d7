// The library side of issue #16: options that are misspelled or out of range are errors, layers
// say which argument is wrong, and a failed checkpoint write leaves nothing half-written.

import test from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { nn, models, randn, tensor, zeros } from '../src/index.js';
import { saveCheckpoint } from '../src/train/checkpoint.js';
import { KneserNeyLM } from '../src/train/ngram.js';
import { describeFsError, InputError } from '../src/errors.js';
import { decodeText, firstInvalidUtf8 } from '../src/io/utf8.js';
import { onInterrupt } from '../src/pipelines/interrupt.js';

const tinyGpt = () => new models.GPT2LMHeadModel(models.gpt2Config({ vocab_size: 11, n_positions: 16, n_embd: 8, n_layer: 1, n_head: 2 }));

test('generate(): unknown keys and out-of-range values are errors that name them', async () => {
  const model = tinyGpt();
  await assert.rejects(model.generate([1, 2], { topP: 1.5 }), /generate: topP must be a number in \(0, 1\], got 1\.5/);
  await assert.rejects(model.generate([1, 2], { maxNewToken: 3 } as never), /generate: unknown option 'maxNewToken' \(did you mean 'maxNewTokens'\?\)/);
  await assert.rejects(model.generate([1, 2], { temprature: 0.5 } as never), /unknown option 'temprature' \(did you mean 'temperature'\?\)/);
  await assert.rejects(model.generate([1, 2], { doSample: true, temperature: -1 }), /temperature must be a number >= 0, got -1/);
  await assert.rejects(model.generate([1, 2], { topK: 2.5, doSample: true }), /topK must be an integer >= 0, got 2\.5/);
  await assert.rejects(model.generate([1, 2], { repetitionPenalty: 0 }), /repetitionPenalty must be a number > 0, got 0/);
  const ok = await model.generate([1, 2], { maxNewTokens: 2 });
  assert.equal(ok[0]!.length, 4);
});

test('layers take torch\'s positional form or options, and name a wrong argument', () => {
  const mha = new nn.MultiheadAttention(8, 2);
  assert.equal(mha.embedDim, 8);
  assert.equal(mha.numHeads, 2);
  assert.deepEqual(mha.forward(randn([3, 1, 8]), randn([3, 1, 8]), randn([3, 1, 8]))[0].shape, [3, 1, 8]);
  assert.throws(() => new nn.MultiheadAttention({ numHeads: 2 } as never), /MultiheadAttention: embedDim must be a positive integer, got nothing \(missing\)/);
  assert.throws(() => new nn.MultiheadAttention('8' as never), /MultiheadAttention: expects an options object \{ embedDim, numHeads, dropout, bias, \.\.\. \} or .* as numbers, got string/);
  assert.throws(() => new nn.MultiheadAttention(8, 3), /embedDim 8 must be divisible by numHeads 3/);
  assert.throws(() => new nn.MultiheadAttention(8, 2, 1.5), /MultiheadAttention: dropout must be in \[0, 1\), got 1\.5/);
  const enc = new nn.TransformerEncoderLayer(8, 2, 16, 0);
  assert.equal(enc.linear1.weight.shape[0], 16);
  assert.throws(() => new nn.TransformerEncoderLayer({ dModel: 8 } as never), /TransformerEncoderLayer: nhead must be a positive integer, got nothing \(missing\)/);
  assert.throws(() => new nn.TransformerDecoderLayer({ dModel: 0, nhead: 2 }), /TransformerDecoderLayer: dModel must be a positive integer, got 0/);
});

test('a checkpoint write that fails leaves no temporary directory and keeps the previous checkpoint', async () => {
  const root = mkdtempSync(join(tmpdir(), 'tlm-ckpt-'));
  try {
    const w = zeros([2, 2]);
    await saveCheckpoint(root, { step: 1 }, { w }, {});
    const dead = tensor([1, 2]);
    dead.dispose();
    await assert.rejects(saveCheckpoint(root, { step: 2 }, { w }, { m: dead }, { name: 'best', keepLatest: false }));
    assert.deepEqual(readdirSync(root).sort(), ['latest.json', 'step-0000001']);
    assert.ok(existsSync(join(root, 'step-0000001', 'model.safetensors')));
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test('filesystem errors become one line with the path and the cause', () => {
  const e = Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC' });
  const d = describeFsError(e, 'write the checkpoint', 'out/checkpoints/step-0000010');
  assert.ok(d instanceof InputError);
  assert.equal(d.message, 'cannot write the checkpoint out/checkpoints/step-0000010: no space left on the device (ENOSPC)');
  const ro = describeFsError(Object.assign(new Error('x'), { code: 'EROFS' }), 'create the output directory', '/mnt/out') as Error;
  assert.match(ro.message, /\/mnt\/out: the filesystem is read-only \(EROFS\)/);
  const other = new Error('something else');
  assert.equal(describeFsError(other, 'write', 'f'), other, 'errors that are not filesystem errors pass through');
});

test('UTF-8 decoding: offsets of invalid sequences, overlongs and surrogates refused, BOM dropped', () => {
  const b = (...x: number[]) => Uint8Array.from(x);
  assert.equal(firstInvalidUtf8(b(0x61, 0xc3, 0xa9, 0x62)), -1);
  assert.equal(firstInvalidUtf8(b(0x61, 0xe9, 0x20)), 1);           // Latin-1 é
  assert.equal(firstInvalidUtf8(b(0x61, 0xc0, 0xaf)), 1);           // overlong '/'
  assert.equal(firstInvalidUtf8(b(0xed, 0xa0, 0x80)), 0);           // UTF-16 surrogate
  assert.equal(firstInvalidUtf8(b(0x61, 0x62, 0xe2, 0x82)), 2);     // truncated €
  assert.equal(firstInvalidUtf8(b(0xf4, 0x90, 0x80, 0x80)), 0);     // past U+10FFFF
  assert.equal(decodeText(b(0xef, 0xbb, 0xbf, 0x68, 0x69), { file: 'f' }), 'hi');
  assert.throws(() => decodeText(b(0x68, 0x69, 0xff), { file: 'x.txt', offset: 100 }), /x\.txt is not valid UTF-8: invalid byte sequence FF at byte 102/);
  assert.equal(decodeText(b(0x68, 0xff), { file: 'f', lossy: true }), 'h\ufffd');
});

test('the n-gram memory estimate grows with the order and refuses what cannot fit', () => {
  const small = KneserNeyLM.estimateBytes(3, 1e6, 65);
  const big = KneserNeyLM.estimateBytes(50, 1e6, 65);
  assert.ok(small < 2 ** 30, `3-gram on 1M chars: ${small}`);
  assert.ok(big > 8 * 2 ** 30, `50-gram on 1M chars: ${big}`);
  assert.ok(KneserNeyLM.estimateBytes(4, 1e6, 65) > small);
});

test('onInterrupt: the first signal asks to stop, a second exits at once with the signal\'s code', () => {
  const logs: string[] = [];
  const { stop, dispose } = onInterrupt((m) => logs.push(m));
  const exit = process.exit;
  const codes: number[] = [];
  process.exit = ((code: number) => { codes.push(code); }) as typeof process.exit;
  try {
    assert.equal(stop.requested, false);
    process.emit('SIGTERM', 'SIGTERM');
    assert.equal(stop.requested, true);
    assert.equal(stop.reason, 'SIGTERM');
    assert.deepEqual(codes, []);
    process.emit('SIGINT', 'SIGINT');
    assert.deepEqual(codes, [130]);
    assert.match(logs.join('\n'), /SIGTERM: finishing the step and saving[\s\S]*SIGINT again: exiting now without saving/);
  } finally {
    process.exit = exit;
    dispose();
  }
  assert.equal(process.listenerCount('SIGINT'), 0, 'dispose() removes the handlers');
});
