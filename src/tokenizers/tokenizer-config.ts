// tokenizer_config.json, the HF Transformers file beside tokenizer.json: which tokens are BOS /
// EOS / PAD / UNK, the chat template(s), the longest input, whether BOS / EOS are added. Parsing
// is pure (the loader in pretrained.ts reads the file); every field is checked and named.

import { asObject, fail, type JsonObject } from './json.js';

export interface TokenizerConfig {
  bosToken: string | null;
  eosToken: string | null;
  padToken: string | null;
  unkToken: string | null;
  /** The default chat template (the one named "default" when several are given), or null. */
  chatTemplate: string | null;
  /** Every chat template by name; a single template is named "default". */
  chatTemplates: Record<string, string>;
  /** The longest input the model takes; null when unset or HF's "no limit" sentinel (~1e30). */
  modelMaxLength: number | null;
  addBosToken: boolean | null;
  addEosToken: boolean | null;
  /** The whole file, for fields not listed here. */
  raw: JsonObject;
}

const TOKEN_KEYS = { bosToken: 'bos_token', eosToken: 'eos_token', padToken: 'pad_token', unkToken: 'unk_token' } as const;

/** A special token: "<s>", or an AddedToken object { "content": "<s>", … }, or null. */
function tokenContent(o: JsonObject, key: string, path: string): string | null {
  const v = o[key];
  if (v === undefined || v === null) return null;
  if (typeof v === 'string') return v;
  if (typeof v === 'object' && !Array.isArray(v) && typeof (v as JsonObject).content === 'string') return (v as JsonObject).content as string;
  fail(`${path}.${key}`, `expected a string or an AddedToken object with "content", got ${JSON.stringify(v).slice(0, 60)}`);
}

function optBool(o: JsonObject, key: string, path: string): boolean | null {
  const v = o[key];
  if (v === undefined || v === null) return null;
  if (typeof v !== 'boolean') fail(`${path}.${key}`, `expected true or false, got ${JSON.stringify(v)}`);
  return v;
}

/** chat_template: a string, or a list of { "name", "template" } (HF's named templates). */
function chatTemplates(o: JsonObject, path: string): Record<string, string> {
  const v = o.chat_template;
  if (v === undefined || v === null) return {};
  if (typeof v === 'string') return { default: v };
  if (!Array.isArray(v)) fail(`${path}.chat_template`, `expected a string or a list of {"name", "template"}, got ${typeof v}`);
  const out: Record<string, string> = {};
  v.forEach((item, i) => {
    const t = asObject(item, `${path}.chat_template[${i}]`);
    if (typeof t.name !== 'string' || typeof t.template !== 'string') fail(`${path}.chat_template[${i}]`, 'expected {"name": string, "template": string}');
    out[t.name] = t.template;
  });
  return out;
}

export function parseTokenizerConfig(json: unknown, path = 'tokenizer_config.json'): TokenizerConfig {
  const o = asObject(json, path);
  const templates = chatTemplates(o, path);
  const max = o.model_max_length;
  if (max !== undefined && max !== null && (typeof max !== 'number' || !(max > 0))) fail(`${path}.model_max_length`, `expected a positive number, got ${JSON.stringify(max)}`);
  return {
    bosToken: tokenContent(o, TOKEN_KEYS.bosToken, path), eosToken: tokenContent(o, TOKEN_KEYS.eosToken, path),
    padToken: tokenContent(o, TOKEN_KEYS.padToken, path), unkToken: tokenContent(o, TOKEN_KEYS.unkToken, path),
    chatTemplates: templates,
    // Named templates without one called "default" leave no default (as in HF).
    chatTemplate: templates.default ?? null,
    modelMaxLength: typeof max === 'number' && max < 1e29 ? max : null,
    addBosToken: optBool(o, 'add_bos_token', path), addEosToken: optBool(o, 'add_eos_token', path),
    raw: o,
  };
}
