// Flag parsing for every subcommand, on node's util.parseArgs: unknown flags are errors, every
// flag is documented in --help, and numbers are checked.

import { parseArgs } from 'node:util';

export interface FlagSpec {
  type: 'string' | 'number' | 'boolean' | 'strings';
  help: string;
  default?: string | number | boolean;
  short?: string;
  /** For string flags: the allowed values. */
  choices?: readonly string[];
}

export type FlagValues = Record<string, string | number | boolean | string[] | undefined>;

export interface CommandSpec {
  name: string;
  summary: string;
  usage: string;
  flags: Record<string, FlagSpec>;
  /** Positional arguments are allowed (listed under usage). */
  positionals?: boolean;
}

export class UsageError extends Error {}

/** An error that ends a command with its one-line message (bad input, missing files). */
export class CliError extends Error {}

export function helpText(spec: CommandSpec): string {
  const lines = [`Usage: tlm ${spec.usage}`, '', spec.summary, '', 'Flags:'];
  const entries = Object.entries(spec.flags);
  const width = Math.max(...entries.map(([k, f]) => k.length + (f.type === 'boolean' ? 0 : 6)), 10) + 4;
  for (const [name, f] of entries) {
    const left = `--${name}${f.type === 'boolean' ? '' : f.type === 'number' ? ' N' : ' VALUE'}`;
    const extra = [f.choices ? `one of: ${f.choices.join(', ')}` : '', f.default !== undefined ? `default: ${f.default}` : ''].filter(Boolean).join('; ');
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
  let parsed;
  try {
    parsed = parseArgs({ args: argv, options, allowPositionals: true, strict: true });
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
      flags[name] = v;
    } else {
      if (f.choices && typeof raw === 'string' && !f.choices.includes(raw)) {
        throw new UsageError(`tlm ${spec.name}: --${name} must be one of ${f.choices.join(', ')}, got '${raw}'`);
      }
      flags[name] = raw as FlagValues[string];
    }
  }
  return { flags, positionals: parsed.positionals, help: parsed.values.help === true };
}
