// LoRA configuration, as HF PEFT's LoraConfig (camelCased): defaults, validation, and how layer
// names are matched against targetModules / excludeModules / rankPattern (PEFT's rules).

import type { Generator as RandomGenerator } from '../tensor/random.js';

/** PEFT's LoraConfig, camelCased. Only bias 'none' is supported (base biases stay frozen). */
export interface LoraConfig {
  /** Rank (default 8). */
  r?: number;
  /** scaling = loraAlpha / r (default 8). */
  loraAlpha?: number;
  loraDropout?: number;
  /**
   * Which layers get adapters: names matched as a suffix at a dot boundary ('query' matches
   * 'bert.encoder.layer.0.attention.self.query'), or a pattern that must match the whole name
   * (a RegExp, or a string as in PEFT's re.fullmatch), or 'all-linear' (every Linear/Conv1D
   * layer except the output layer).
   */
  targetModules: string[] | RegExp | string;
  /** Names (suffixes) or a whole-name pattern to leave out. */
  excludeModules?: string[] | RegExp | string | null;
  /** Modules trained in full and saved with the adapter (a classification head), matched by suffix. */
  modulesToSave?: string[] | null;
  useRslora?: boolean;
  initLoraWeights?: boolean | 'gaussian';
  /** Per-layer rank / alpha overrides: pattern → value, matched against the end of the layer name. */
  rankPattern?: Record<string, number>;
  alphaPattern?: Record<string, number>;
  bias?: 'none';
  /** The adapter's parameters do not train (PEFT's inference_mode; loaded adapters default to it). */
  inferenceMode?: boolean;
  /** Saved in adapter_config.json; the layout of each layer is known from its class. */
  fanInFanOut?: boolean;
  taskType?: string | null;
  baseModelNameOrPath?: string | null;
  generator?: RandomGenerator;
}

export type ResolvedLoraConfig = Required<Omit<LoraConfig, 'generator' | 'excludeModules' | 'modulesToSave'>> & {
  excludeModules: string[] | RegExp | null;
  modulesToSave: string[] | null;
  targetModules: string[] | RegExp;
  generator?: RandomGenerator;
};

/** A pattern that must match the whole name (PEFT's re.fullmatch). */
function wholeName(where: string, p: RegExp | string): RegExp {
  if (p instanceof RegExp && p.flags.replace(/[gy]/g, '') !== '') throw new Error(`${where}: RegExp flags are not saved with the adapter; write /${p.source}/ without /${p.flags}`);
  const source = p instanceof RegExp ? p.source : p;
  try {
    return new RegExp(`^(?:${source})$`);
  } catch (err) {
    throw new Error(`${where}: invalid pattern '${source}': ${(err as Error).message}`);
  }
}

/** The pattern as the user wrote it (saved to adapter_config.json as PEFT's regex string). */
export function patternSource(re: RegExp): string {
  return re.source.slice('^(?:'.length, -')$'.length);
}

export function nameMatches(names: string[] | RegExp, key: string): boolean {
  if (names instanceof RegExp) return names.test(key);
  return names.some((t) => key === t || key.endsWith(`.${t}`));
}

/** Fills in PEFT's defaults and checks every field; errors name the field. */
export function resolveLoraConfig(cfg: LoraConfig, where = 'LoraConfig'): ResolvedLoraConfig {
  if (cfg === null || typeof cfg !== 'object') throw new Error(`${where}: expected a config object`);
  const list = (v: unknown, field: string): string[] => {
    if (!Array.isArray(v) || v.some((s) => typeof s !== 'string' || s === '')) throw new Error(`${where}: ${field} must be a list of non-empty names, got ${JSON.stringify(v)}`);
    return [...v] as string[];
  };
  const pattern = (v: unknown, field: string): string[] | RegExp =>
    v instanceof RegExp || typeof v === 'string' ? wholeName(`${where}: ${field}`, v) : list(v, field);
  const t = cfg.targetModules;
  if (t === undefined || t === null || (Array.isArray(t) && t.length === 0)) throw new Error(`${where}: targetModules is required (e.g. ['query', 'value'] for BERT, ['c_attn'] for GPT-2)`);
  if (typeof t === 'string' && t.toLowerCase() === 'all-linear') throw new Error(`${where}: 'all-linear' is expanded by LoraModel.addAdapter, which knows the model's layers`);
  if (cfg.bias !== undefined && cfg.bias !== 'none') throw new Error(`${where}: bias '${cfg.bias}' is not supported; only 'none' (base biases stay frozen)`);
  const numbers = (v: unknown, field: string): Record<string, number> => {
    if (v === undefined || v === null) return {};
    if (typeof v !== 'object' || Array.isArray(v) || Object.values(v).some((x) => typeof x !== 'number')) throw new Error(`${where}: ${field} must map patterns to numbers`);
    return { ...(v as Record<string, number>) };
  };
  const out: ResolvedLoraConfig = {
    r: cfg.r ?? 8,
    loraAlpha: cfg.loraAlpha ?? 8,
    loraDropout: cfg.loraDropout ?? 0,
    targetModules: pattern(t, 'targetModules'),
    excludeModules: cfg.excludeModules === undefined || cfg.excludeModules === null ? null : pattern(cfg.excludeModules, 'excludeModules'),
    modulesToSave: cfg.modulesToSave === undefined || cfg.modulesToSave === null ? null : list(cfg.modulesToSave, 'modulesToSave'),
    useRslora: cfg.useRslora ?? false,
    initLoraWeights: cfg.initLoraWeights ?? true,
    rankPattern: numbers(cfg.rankPattern, 'rankPattern'),
    alphaPattern: numbers(cfg.alphaPattern, 'alphaPattern'),
    bias: 'none',
    inferenceMode: cfg.inferenceMode ?? false,
    fanInFanOut: cfg.fanInFanOut ?? false,
    taskType: cfg.taskType ?? null,
    baseModelNameOrPath: cfg.baseModelNameOrPath ?? null,
    ...(cfg.generator ? { generator: cfg.generator } : {}),
  };
  if (!Number.isInteger(out.r) || out.r <= 0) throw new Error(`${where}: r must be a positive integer, got ${out.r}`);
  if (typeof out.loraAlpha !== 'number' || !Number.isFinite(out.loraAlpha)) throw new Error(`${where}: loraAlpha must be a finite number, got ${out.loraAlpha}`);
  if (!(out.loraDropout >= 0 && out.loraDropout < 1)) throw new Error(`${where}: loraDropout must be in [0, 1), got ${out.loraDropout}`);
  const init = out.initLoraWeights;
  if (init !== true && init !== false && init !== 'gaussian') throw new Error(`${where}: initLoraWeights must be true, false or 'gaussian', got ${JSON.stringify(init)}`);
  for (const [p, r] of Object.entries(out.rankPattern)) if (!Number.isInteger(r) || r <= 0) throw new Error(`${where}: rankPattern '${p}' must be a positive integer, got ${r}`);
  for (const p of [...Object.keys(out.rankPattern), ...Object.keys(out.alphaPattern)]) wholeName(`${where}: rankPattern/alphaPattern`, p);
  return out;
}

/** The value of the first pattern matching the end of key (PEFT's get_pattern_key), else fallback. */
export function patternValue(patterns: Record<string, number>, key: string, fallback: number): number {
  for (const [p, v] of Object.entries(patterns)) if (new RegExp(`^(?:.*\\.)?(?:${p})$`).test(key)) return v;
  return fallback;
}

export function describeTargets(t: string[] | RegExp): string {
  return t instanceof RegExp ? `/${patternSource(t)}/` : `[${t.join(', ')}]`;
}
