// The HF GPT-2 fixture (test/fixtures/hf/gpt2-tiny) quantized: its logits against the float32
// logits HF computed (expected_logits.safetensors), and the next-token perplexity of the probe ids,
// for int8 and 4-bit (4-bit with the native VNNI kernel and with the float kernel, where both exist).
// Run by bench/recipes/quant-quality.sh; prints one JSON object per line.
//
//   node dist/bench/quant_fixture.js

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { io, noGrad, type Tensor } from '../src/index.js';
import { fromPretrained, quantizeModel, type PreTrainedModel } from '../src/models/index.js';
import { nativeKernels } from '../src/backend/cpu/native.js';
import { getCpuNative } from '../src/backend/cpu/index.js';

const dir = join(process.cwd(), 'test', 'fixtures', 'hf', 'gpt2-tiny');
const ids = (JSON.parse(readFileSync(join(dir, 'expected.json'), 'utf8')) as { logits_ids: number[] }).logits_ids;
const ref = (await io.loadSafetensors(join(dir, 'expected_logits.safetensors'))).logits!.dataSync() as Float32Array;
const V = ref.length / ids.length;

/** Mean next-token cross-entropy of ids under logits [T, V], as a perplexity. */
function perplexity(logits: Float32Array): number {
  let nll = 0;
  for (let t = 0; t + 1 < ids.length; t++) {
    let m = -Infinity, s = 0;
    for (let v = 0; v < V; v++) m = Math.max(m, logits[t * V + v]!);
    for (let v = 0; v < V; v++) s += Math.exp(logits[t * V + v]! - m);
    nll += m + Math.log(s) - logits[t * V + ids[t + 1]!]!;
  }
  return Math.exp(nll / (ids.length - 1));
}

function report(what: string, model: PreTrainedModel): void {
  const out = noGrad(() => (model.forward({ inputIds: [ids] }).logits as Tensor).dataSync() as Float32Array);
  let maxd = 0, maxr = 0, se = 0, sr = 0, agree = 0;
  for (let t = 0; t < ids.length; t++) {
    let a = 0, b = 0;
    for (let v = 0; v < V; v++) {
      const i = t * V + v, d = out[i]! - ref[i]!;
      maxd = Math.max(maxd, Math.abs(d)); maxr = Math.max(maxr, Math.abs(ref[i]!)); se += d * d; sr += ref[i]! ** 2;
      if (out[i]! > out[t * V + a]!) a = v;
      if (ref[i]! > ref[t * V + b]!) b = v;
    }
    if (a === b) agree++;
  }
  const ppl = perplexity(out), refPpl = perplexity(ref);
  console.log(JSON.stringify({ fixture: 'gpt2-tiny', weights: what, max_abs_logit_diff: +maxd.toFixed(5), max_abs_logit: +maxr.toFixed(4),
    relative_rms_diff: +Math.sqrt(se / sr).toFixed(5), argmax_agreement: `${agree}/${ids.length}`, perplexity: +ppl.toFixed(3),
    perplexity_change_pct: +((ppl / refPpl - 1) * 100).toFixed(3) }));
}

report('float32', await fromPretrained(dir));
const vnni = getCpuNative() !== null && nativeKernels()!.quantVnni();
for (const bits of [8, 4] as const) {
  const model = await fromPretrained(dir);
  quantizeModel(model, { bits });
  if (bits === 4 && vnni) {
    report('4-bit (native VNNI kernel: x rounded to int8 per row)', model);
    nativeKernels()!.quantVnni(false);
    report('4-bit (float kernel)', model);
    nativeKernels()!.quantVnni(true);
  } else report(bits === 8 ? 'int8' : '4-bit', model);
}
process.exit(0);
