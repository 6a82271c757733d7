// Flag parsing for every subcommand, on node's util.parseArgs: unknown flags are errors, every
// flag is documented in --help, and numbers are checked.

import { parseArgs } from 'node:util';
import { InputError } from '../errors.js';

export interface FlagSpec {
  type: 'string' | 'number' | 'boolean' | 'strings';
  help: string;
  default?: string | number | boolean;
  short?: string;
  /** For string flags: the allowed values. */
  choices?: readonly string[];
  /** For number flags: whole numbers only, and the allowed range (min/max inclusive, gt/lt exclusive). */
  integer?: boolean;
  min?: number;
  max?: number;
  gt?: number;
  lt?: number;
}

export type FlagValues = Record<string, string | number | boolean | string[] | undefined>;

export interface CommandSpec {
  name: string;
  summary: string;
  usage: string;
  flags: Record<string, FlagSpec>;
  /** Positional arguments are allowed (listed under usage). */
  positionals?: boolean;
  /** Checks that involve several flags; returns the problem (without the 'tlm NAME: ' prefix), if any. */
  check?: (flags: FlagValues) => string | undefined;
}

/** "a positive integer", "a number > 0", "a number in [0, 1)": what a number flag accepts. */
export function describeRange(f: FlagSpec): string {
  const kind = f.integer ? 'an integer' : 'a number';
  if (f.integer && f.min === 1 && f.max === undefined) return 'a positive integer';
  if (f.integer && f.min === 0 && f.max === undefined) return 'a non-negative integer';
  const lo = f.gt !== undefined ? `(${f.gt}` : f.min !== undefined ? `[${f.min}` : null;
  const hi = f.lt !== undefined ? `${f.lt})` : f.max !== undefined ? `${f.max}]` : null;
  if (lo && hi) return `${kind} in ${lo}, ${hi}`;
  if (lo) return `${kind} ${lo[0] === '(' ? '>' : '>='} ${lo.slice(1)}`;
  if (hi) return `${kind} ${hi.endsWith(')') ? '<' : '<='} ${hi.slice(0, -1)}`;
  return kind;
}

/** The problem with a number flag's value, or undefined when it is in range. */
export function checkNumber(name: string, v: number, f: FlagSpec): string | undefined {
  const ok = (!f.integer || Number.isInteger(v)) && (f.min === undefined || v >= f.min) && (f.max === undefined || v <= f.max)
    && (f.gt === undefined || v > f.gt) && (f.lt === undefined || v < f.lt);
  return ok ? undefined : `--${name} must be ${describeRange(f)}, got ${v}`;
}

/** An error that ends a command with its one-line message (bad input, missing files). */
export class CliError extends InputError {}

/** A flag that is unknown, malformed or out of range. */
export class UsageError extends CliError {}

export function helpText(spec: CommandSpec): string {
  const lines = [`Usage: tlm ${spec.usage}`, '', spec.summary, '', 'Flags:'];
  const entries = Object.entries(spec.flags);
  const width = Math.max(...entries.map(([k, f]) => k.length + (f.type === 'boolean' ? 0 : 6)), 10) + 4;
  for (const [name, f] of entries) {
    const left = `--${name}${f.type === 'boolean' ? '' : f.type === 'number' ? ' N' : ' VALUE'}`;
    const range = f.type === 'number' && (f.integer || f.min !== undefined || f.max !== undefined || f.gt !== undefined || f.lt !== undefined)
      ? describeRange(f) : '';
    const extra = [f.choices ? `one of: ${f.choices.join(', ')}` : '', range, f.default !== undefined ? `default: ${f.default}` : ''].filter(Boolean).join('; ');
    lines.push(`  ${left.padEnd(width)}${f.help}${extra ? ` (${extra})` : ''}`);
  }
  lines.push(`  ${'--help'.padEnd(width)}show this help`);
  return lines.join('\n');
}

export function parseFlags(spec: CommandSpec, argv: string[]): { flags: FlagValues; positionals: string[]; help: boolean } {
  const options: Record<string, { type: 'string' | 'boolean'; short?: string; multiple?: boolean }> = { help: { type: 'boolean', short: 'h' } };
  for (const [name, f] of Object.entries(spec.flags)) {
    options[name] = { type: f.type === 'boolean' ? 'boolean' : 'string', ...(f.short ? { short: f.short } : {}), ...(f.type === 'strings' ? { multiple: true } : {}) };
  }
  // `--lr -1`: parseArgs reads '-1' as a flag; a number flag followed by a negative number takes it.
  const args: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!, next = argv[i + 1];
    const name = a.startsWith('--') ? a.slice(2) : null;
    if (name !== null && spec.flags[name]?.type === 'number' && next !== undefined && /^-\d|^-\.\d/.test(next)) { args.push(`${a}=${next}`); i++; }
    else args.push(a);
  }
  let parsed;
  try {
    parsed = parseArgs({ args, options, allowPositionals: true, strict: true });
  } catch (err) {
    const msg = err instanceof Error ? err.message : String(err);
    throw new UsageError(`tlm ${spec.name}: ${msg.replace(/\. To specify a positional argument.*$/, '')} (see tlm ${spec.name} --help)`);
  }
  if (!spec.positionals && parsed.positionals.length > 0) {
    throw new UsageError(`tlm ${spec.name}: unexpected argument '${parsed.positionals[0]}' (see tlm ${spec.name} --help)`);
  }
  const flags: FlagValues = {};
  for (const [name, f] of Object.entries(spec.flags)) {
    const raw = (parsed.values as Record<string, unknown>)[name];
    if (raw === undefined) { flags[name] = f.default as FlagValues[string]; continue; }
    if (f.type === 'number') {
      const v = Number(raw);
      if (raw === '' || !Number.isFinite(v)) throw new UsageError(`tlm ${spec.name}: --${name} expects a number, got '${raw}'`);
      const problem = checkNumber(name, v, f);
      if (problem) throw new UsageError(`tlm ${spec.name}: ${problem}`);
      flags[name] = v;
    } else {
      if (f.choices && typeof raw === 'string' && !f.choices.includes(raw)) {
        throw new UsageError(`tlm ${spec.name}: --${name} must be one of ${f.choices.join(', ')}, got '${raw}'`);
      }
      flags[name] = raw as FlagValues[string];
    }
  }
  const help = parsed.values.help === true;
  const problem = help ? undefined : spec.check?.(flags);
  if (problem) throw new UsageError(`tlm ${spec.name}: ${problem}`);
  return { flags, positionals: parsed.positionals, help };
}
