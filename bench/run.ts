// `npm run bench`: runs every section in bench/sections (each measures tlm against its peers in the
// same process run), prints one table and writes bench/results.json.
//
//   npm run bench [-- --only matmul,tokenizers] [--quick]

import { readdirSync, writeFileSync, renameSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import os from 'node:os';

export interface BenchRow {
  section: string;
  name: string;
  /** tlm's figure. */
  value: number;
  unit: string;
  /** Peer figures by name (torch, tfjs-wasm, jax-js, js-tiktoken...), same unit. */
  peers: Record<string, number | null>;
  /** true when a larger value is better (GFLOP/s, tokens/s); false for times. */
  higherIsBetter: boolean;
  note?: string;
}

export interface BenchSection {
  name: string;
  run(opts: { quick: boolean }): Promise<BenchRow[]>;
}

const here = dirname(fileURLToPath(import.meta.url));

function fmt(v: number | null | undefined): string {
  if (v === null || v === undefined || !Number.isFinite(v)) return '—';
  return v >= 100 ? v.toFixed(0) : v >= 10 ? v.toFixed(1) : v.toFixed(3);
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const onlyArg = args.indexOf('--only');
  const only = onlyArg >= 0 ? new Set(args[onlyArg + 1]!.split(',')) : null;
  const quick = args.includes('--quick');
  const dir = join(here, 'sections');
  const files = readdirSync(dir).filter((f) => f.endsWith('.js')).sort();
  const rows: BenchRow[] = [];
  for (const f of files) {
    const mod = (await import(join(dir, f))) as { default: BenchSection };
    const section = mod.default;
    if (only && !only.has(section.name)) continue;
    console.error(`bench: ${section.name}...`);
    rows.push(...(await section.run({ quick })));
  }
  const peerNames = [...new Set(rows.flatMap((r) => Object.keys(r.peers)))];
  const header = ['section', 'case', 'unit', 'tlm', ...peerNames.flatMap((p) => [p, `tlm/${p}`])];
  const lines = [header, ...rows.map((r) => [r.section, r.name, r.unit, fmt(r.value), ...peerNames.flatMap((p) => {
    const v = r.peers[p];
    if (v === undefined || v === null) return ['—', '—'];
    const ratio = r.higherIsBetter ? r.value / v : v / r.value;
    return [fmt(v), `${ratio.toFixed(2)}×`];
  })])];
  const md = [`| ${header.join(' | ')} |`, `| ${header.map(() => '---').join(' | ')} |`, ...lines.slice(1).map((l) => `| ${l.join(' | ')} |`)].join('\n');
  console.log(md);
  console.log('\n(tlm/peer > 1 means tlm is faster)');
  const out = { date: new Date().toISOString(), machine: { cpus: os.cpus()[0]?.model, cores: os.availableParallelism(), node: process.version }, rows };
  const path = join(here, '..', '..', 'bench', 'results.json');
  writeFileSync(path + '.tmp', JSON.stringify(out, null, 2));
  renameSync(path + '.tmp', path);
  console.error(`bench: wrote ${path}`);
}

if (import.meta.url === `file://${process.argv[1]}`) await main();
