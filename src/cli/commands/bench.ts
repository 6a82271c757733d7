// tlm bench: the benchmarks of bench/ (the same as `npm run bench`), from a repository checkout.

import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CliError, type CommandSpec, type FlagValues } from '../args.js';

const runner = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..', 'bench', 'run.js');

const spec: CommandSpec = {
  name: 'bench',
  usage: 'bench [--only SECTIONS] [--quick]',
  summary: 'Run the benchmarks: tlm beside PyTorch (same machine, same run) and JS peers; prints a table, writes bench/results.json.',
  flags: {
    only: { type: 'string', help: 'comma-separated sections: cpu, train, generate, tokenizers, webgpu' },
    quick: { type: 'boolean', help: 'fewer repetitions' },
  },
};

export default {
  spec,
  async run(f: FlagValues): Promise<void> {
    if (!existsSync(runner)) throw new CliError('tlm bench: the benchmarks ship with the repository, not the package; run `npm run bench` in a clone');
    const args = [runner, ...(f.only ? ['--only', f.only as string] : []), ...(f.quick ? ['--quick'] : [])];
    const r = spawnSync(process.execPath, args, { stdio: 'inherit' });
    if (r.status !== 0) throw new CliError(`tlm bench: the benchmark run failed (exit ${r.status})`);
  },
};
