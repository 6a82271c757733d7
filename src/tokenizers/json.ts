// Reading tokenizer.json safely: every accessor names the field it failed on, so a malformed or
// unsupported file says which field is wrong ("model.merges[12]: expected …") instead of
// failing somewhere deep in the encoder.

import { onigToJs } from './regex.js';

export class TokenizerConfigError extends Error {
  override name = 'TokenizerConfigError';
}

export type JsonObject = Record<string, unknown>;

function describe(v: unknown): string {
  if (v === null) return 'null';
  if (v === undefined) return 'nothing';
  if (Array.isArray(v)) return 'an array';
  if (typeof v === 'string') return `the string ${JSON.stringify(v.length > 40 ? v.slice(0, 40) + '…' : v)}`;
  return typeof v === 'object' ? 'an object' : `${typeof v} ${String(v)}`;
}

export function fail(path: string, message: string): never {
  throw new TokenizerConfigError(`${path}: ${message}`);
}

export function asObject(v: unknown, path: string): JsonObject {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) fail(path, `expected an object, got ${describe(v)}`);
  return v as JsonObject;
}

export function asArray(v: unknown, path: string): unknown[] {
  if (!Array.isArray(v)) fail(path, `expected an array, got ${describe(v)}`);
  return v;
}

export function getString(o: JsonObject, key: string, path: string, fallback?: string): string {
  const v = o[key];
  if (v === undefined && fallback !== undefined) return fallback;
  if (typeof v !== 'string') fail(`${path}.${key}`, `expected a string, got ${v === undefined ? 'nothing' : describe(v)}`);
  return v;
}

export function getOptString(o: JsonObject, key: string, path: string): string | null {
  const v = o[key];
  if (v === undefined || v === null) return null;
  if (typeof v !== 'string') fail(`${path}.${key}`, `expected a string or null, got ${describe(v)}`);
  return v;
}

export function getBool(o: JsonObject, key: string, path: string, fallback?: boolean): boolean {
  const v = o[key];
  if (v === undefined && fallback !== undefined) return fallback;
  if (typeof v !== 'boolean') fail(`${path}.${key}`, `expected true or false, got ${v === undefined ? 'nothing' : describe(v)}`);
  return v;
}

export function getOptBool(o: JsonObject, key: string, path: string): boolean | null {
  const v = o[key];
  if (v === undefined || v === null) return null;
  if (typeof v !== 'boolean') fail(`${path}.${key}`, `expected true, false or null, got ${describe(v)}`);
  return v;
}

export function asInt(v: unknown, path: string): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 0) fail(path, `expected a non-negative integer, got ${describe(v)}`);
  return v;
}

export function getInt(o: JsonObject, key: string, path: string, fallback?: number): number {
  const v = o[key];
  if ((v === undefined || v === null) && fallback !== undefined) return fallback;
  return asInt(v, `${path}.${key}`);
}

/** The "type" of a component, checked against the supported ones. */
export function getType(o: JsonObject, path: string, kind: string, supported: readonly string[]): string {
  const t = o.type;
  if (typeof t !== 'string') fail(`${path}.type`, `expected the ${kind} type as a string, got ${t === undefined ? 'nothing' : describe(t)}`);
  if (!supported.includes(t)) fail(`${path}.type`, `unknown ${kind} '${t}' (supported: ${supported.join(', ')})`);
  return t;
}

/** A { String: "…" } or { Regex: "…" } pattern, as used by Split and Replace. */
export interface Pattern {
  /** The tokenizer.json form, written back unchanged. */
  json: { String: string } | { Regex: string };
  /** A global, unicode-aware regex matching it. */
  re: RegExp;
}

export function getPattern(o: JsonObject, key: string, path: string): Pattern {
  const p = asObject(o[key], `${path}.${key}`);
  if (typeof p.String === 'string') return { json: { String: p.String }, re: new RegExp(escapeRegExp(p.String), 'gu') };
  if (typeof p.Regex === 'string') {
    try {
      return { json: { Regex: p.Regex }, re: new RegExp(onigToJs(p.Regex), 'gu') };
    } catch (err) {
      fail(`${path}.${key}.Regex`, `cannot compile ${JSON.stringify(p.Regex)} as a JavaScript regular expression (${(err as Error).message})`);
    }
  }
  fail(`${path}.${key}`, `expected {"String": …} or {"Regex": …}, got keys ${Object.keys(p).join(', ') || 'none'}`);
}

/** A pattern given in code: a string is matched literally, a RegExp as a regex. */
export function toPattern(p: string | RegExp): Pattern {
  return typeof p === 'string'
    ? { json: { String: p }, re: new RegExp(escapeRegExp(p), 'gu') }
    : { json: { Regex: p.source }, re: new RegExp(p.source, 'gu') };
}

export function escapeRegExp(s: string): string {
  return s.replace(/[\\^$.*+?()[\]{}|/]/g, '\\$&');
}
