// `tlm quantize` end to end on the gpt2-tiny fixture: it writes a directory that `tlm generate`
// loads and whose greedy text is the library's for the quantized model, and bad input ends with a
// one-line error (exit status 2).

import test from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import '../src/index.js';
import { fromPretrained, quantizeModel } from '../src/models/index.js';
import { Tokenizer } from '../src/tokenizers/index.js';

const dir = join(process.cwd(), 'test', 'fixtures', 'hf', 'gpt2-tiny');
const bin = fileURLToPath(new URL('../src/cli/bin.js', import.meta.url));
const tlm = (args: string[]) => spawnSync(process.execPath, [bin, ...args], { encoding: 'utf8', timeout: 120_000 });

function oneLineError(r: ReturnType<typeof tlm>, pattern: RegExp): void {
  assert.equal(r.status, 2, `exit status ${r.status}, stderr: ${r.stderr}`);
  const lines = r.stderr.trim().split('\n');
  assert.equal(lines.length, 1, `expected one error line, got:\n${r.stderr}`);
  assert.match(lines[0]!, pattern);
}

test('tlm quantize writes a model directory that tlm generate runs, with the quantized model\'s greedy text', async () => {
  const tmp = mkdtempSync(join(tmpdir(), 'tlm-quant-cli-'));
  try {
    for (const bits of [8, 4] as const) {
      const out = join(tmp, `q${bits}`);
      const r = tlm(['quantize', '--model', dir, '--bits', String(bits), '--out', out]);
      assert.equal(r.status, 0, r.stderr);
      assert.match(r.stdout, new RegExp(`GPT2LMHeadModel, 9 layers to ${bits} bits`));
      assert.deepEqual(readdirSync(out).sort(), ['config.json', 'generation_config.json', 'model.safetensors', 'tokenizer.json', 'tokenizer_config.json']);
      // The library's quantization of the same model, and its greedy continuation.
      const model = await fromPretrained(dir);
      quantizeModel(model, { bits });
      const tok = await Tokenizer.fromPretrained(dir);
      const prompt = 'First Citizen:\nBefore we';
      const ids = Array.from(tok.encode(prompt, { addSpecialTokens: false }).ids);
      const seq = (await model.generate([ids], { maxNewTokens: 10 }))[0]!;
      const g = tlm(['generate', '--model', out, '--prompt', prompt, '--max-new-tokens', '10']);
      assert.equal(g.status, 0, g.stderr);
      assert.equal(g.stdout, `${prompt}${tok.decode(seq.slice(ids.length), { skipSpecialTokens: true })}\n`);
      model.dispose();
    }
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
});

test('tlm quantize: bad flags and paths end with one line', () => {
  const tmp = mkdtempSync(join(tmpdir(), 'tlm-quant-cli-'));
  try {
    const out = join(tmp, 'out');
    oneLineError(tlm(['quantize', '--model', dir, '--bits', '3', '--out', out]), /^tlm quantize: --bits must be one of 8, 4, got '3'$/);
    oneLineError(tlm(['quantize', '--model', join(tmp, 'missing'), '--bits', '8', '--out', out]), /^tlm quantize: model directory not found: .*missing$/);
    oneLineError(tlm(['quantize', '--model', dir, '--bits', '8']), /^tlm quantize: --out DIR is required$/);
    oneLineError(tlm(['quantize', '--bits', '8', '--out', out]), /^tlm quantize: --model DIR is required$/);
    oneLineError(tlm(['quantize', '--model', dir, '--bits', '8', '--out', dir]), /^tlm quantize: --out must differ from --model/);
    oneLineError(tlm(['quantize', '--model', join(process.cwd(), 'test', 'fixtures', 'hf', 'bert-tiny'), '--bits', '8', '--out', out]),
      /^tlm quantize: BertForMaskedLM cannot be quantized/);
    assert.equal(existsSync(out), false, 'nothing written on error');
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
});
