// A deeper BERT from a pretrained one (progressive stacking, Gong et al. 2019): layer j of the new
// model is a copy of layer ORDER[j] of the old. A layer copied k times has its two residual output
// projections (attention.output.dense, output.dense) divided by k in every copy, so that in a pre-norm
// model the copies together first add about what the one layer added: the deeper model starts near
// the old one's masked-LM loss, and further pretraining goes on from there.
//
//     node dist/bench/recipes/stack_layers.js SRC_DIR OUT_DIR 0,1,1,2,2,3
import { copyFileSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { writeFileAtomic } from '../../src/io/atomic.js';
import { loadSafetensors, saveSafetensors } from '../../src/io/index.js';
import type { Tensor } from '../../src/tensor/tensor.js';

const [src, out, spec] = process.argv.slice(2);
if (!src || !out || !spec || !/^\d+(,\d+)*$/.test(spec)) {
  console.error('usage: node dist/bench/recipes/stack_layers.js SRC_DIR OUT_DIR ORDER (old layer per new layer, e.g. 0,1,1,2,2,3)');
  process.exit(2);
}
try {
  const config = JSON.parse(readFileSync(join(src, 'config.json'), 'utf8')) as Record<string, unknown>;
  if (config.model_type !== 'bert' || config.norm_first !== true) throw new Error(`stacking keeps the function of a pre-norm BERT (norm_first), and ${src} is not one`);
  const order = spec.split(',').map(Number);
  const layers = config.num_hidden_layers as number;
  const bad = order.find((i) => i >= layers);
  if (bad !== undefined) throw new Error(`layer ${bad} is not in ${src}, which has ${layers}`);
  const copies = new Map<number, number>();
  for (const i of order) copies.set(i, (copies.get(i) ?? 0) + 1);
  const weights = await loadSafetensors(join(src, 'model.safetensors'));
  const stacked: Record<string, Tensor> = {};
  for (const [name, t] of Object.entries(weights)) if (!/\.layer\.\d+\./.test(name)) stacked[name] = t;
  order.forEach((from, to) => {
    for (const [name, t] of Object.entries(weights)) {
      const m = /^(.*\.layer\.)(\d+)(\..*)$/.exec(name);
      if (!m || Number(m[2]) !== from) continue;
      const k = copies.get(from)!;
      const residual = /\.layer\.\d+\.(attention\.output|output)\.dense\.(weight|bias)$/.test(name);
      stacked[`${m[1]}${to}${m[3]}`] = residual && k > 1 ? t.div(k) : t;
    }
  });
  mkdirSync(out, { recursive: true });
  await writeFileAtomic(join(out, 'config.json'), JSON.stringify({ ...config, num_hidden_layers: order.length }, null, 2) + '\n');
  copyFileSync(join(src, 'tokenizer.json'), join(out, 'tokenizer.json'));
  // The weights last: a folder with model.safetensors is complete (the recipes reuse it).
  await saveSafetensors(join(out, 'model.safetensors'), stacked);
  console.error(`stack_layers: ${layers} → ${order.length} layers (${order.join(', ')}) → ${out}`);
} catch (err) {
  console.error(`stack_layers: ${(err as Error).message}`);
  process.exit(1);
}
