// The files of an HF-layout model directory beside config.json: the weights, in one
// model.safetensors or in shards listed by model.safetensors.index.json (HF's weight_map: tensor
// name → shard file), and generation_config.json (generate()'s defaults: eos_token_id, …).
// Loaders read the shards one at a time, so a big model never sits in memory twice.

import { fileSystem } from '../io/files.js';
import { join, normalize, isAbsolute } from '../io/path.js';

export const WEIGHTS_NAME = 'model.safetensors';
export const WEIGHTS_INDEX_NAME = 'model.safetensors.index.json';
export const GENERATION_CONFIG_NAME = 'generation_config.json';

/** One file of weights, and for a shard the tensor names the index assigns to it. */
export interface WeightFile {
  path: string;
  names: string[] | null;
}

async function readJsonObject(file: string, what: string): Promise<Record<string, unknown>> {
  let text: string;
  try {
    text = await fileSystem().promises.readFile(file, 'utf8');
  } catch (err) {
    throw new Error(`fromPretrained: cannot read ${file}: ${(err as Error).message}`);
  }
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch (err) {
    throw new Error(`fromPretrained: ${file} is not valid JSON: ${(err as Error).message}`);
  }
  if (v === null || typeof v !== 'object' || Array.isArray(v)) throw new Error(`fromPretrained: ${file} must hold a JSON object (${what})`);
  return v as Record<string, unknown>;
}

/**
 * The weight files of dir, in load order: model.safetensors, or the shards of
 * model.safetensors.index.json in the order the index first names them. Every shard must exist.
 */
export async function weightFiles(dir: string): Promise<WeightFile[]> {
  const single = join(dir, WEIGHTS_NAME), indexFile = join(dir, WEIGHTS_INDEX_NAME);
  if (fileSystem().existsSync(single)) return [{ path: single, names: null }];
  if (!fileSystem().existsSync(indexFile)) {
    const hint = fileSystem().existsSync(join(dir, 'pytorch_model.bin')) ? ' (only pytorch_model.bin is there: convert it with safetensors first)' : '';
    throw new Error(`fromPretrained: ${single} not found (nor a sharded ${WEIGHTS_INDEX_NAME})${hint}`);
  }
  const index = await readJsonObject(indexFile, 'with a weight_map');
  const map = index.weight_map;
  if (map === null || typeof map !== 'object' || Array.isArray(map)) throw new Error(`fromPretrained: ${indexFile} has no weight_map object (tensor name → shard file)`);
  const shards = new Map<string, string[]>();
  for (const [name, shard] of Object.entries(map as Record<string, unknown>)) {
    // A shard is a file in dir: no absolute paths, no way out of it.
    if (typeof shard !== 'string' || shard === '' || isAbsolute(shard) || normalize(shard).startsWith('..')) {
      throw new Error(`fromPretrained: ${indexFile}: weight_map['${name}'] must name a file in ${dir}, got ${JSON.stringify(shard)}`);
    }
    if (!shards.has(shard)) shards.set(shard, []);
    shards.get(shard)!.push(name);
  }
  if (shards.size === 0) throw new Error(`fromPretrained: ${indexFile}: weight_map is empty`);
  const files: WeightFile[] = [];
  for (const [shard, names] of shards) {
    const path = join(dir, shard);
    if (!fileSystem().existsSync(path)) throw new Error(`fromPretrained: shard ${path} not found (${WEIGHTS_INDEX_NAME} maps ${names.length} tensor(s) to it, e.g. '${names[0]}')`);
    files.push({ path, names });
  }
  return files;
}

/** Checks that a shard holds every tensor the index assigns to it. */
export function checkShard(file: WeightFile, keys: readonly string[]): void {
  if (file.names === null) return;
  const have = new Set(keys);
  const absent = file.names.filter((n) => !have.has(n));
  if (absent.length) throw new Error(`fromPretrained: ${WEIGHTS_INDEX_NAME} maps '${absent[0]}'${absent.length > 1 ? ` (and ${absent.length - 1} more)` : ''} to ${file.path}, which does not hold it`);
}

const isTokenId = (v: unknown): boolean => Number.isInteger(v) && (v as number) >= 0;

/**
 * dir/generation_config.json (null when absent): HF's GenerationConfig, whose fields generate()
 * takes as its defaults. The token ids are checked here: eos_token_id is an id or a list of ids.
 */
export async function readGenerationConfig(dir: string): Promise<Record<string, unknown> | null> {
  const file = join(dir, GENERATION_CONFIG_NAME);
  if (!fileSystem().existsSync(file)) return null;
  const g = await readJsonObject(file, 'HF GenerationConfig fields');
  for (const key of ['bos_token_id', 'pad_token_id', 'decoder_start_token_id']) {
    const v = g[key];
    if (v !== undefined && v !== null && !isTokenId(v)) throw new Error(`fromPretrained: ${file}: ${key} must be a token id (an integer ≥ 0), got ${JSON.stringify(v)}`);
  }
  const eos = g.eos_token_id;
  if (eos !== undefined && eos !== null && !isTokenId(eos) && !(Array.isArray(eos) && eos.length > 0 && eos.every(isTokenId))) {
    throw new Error(`fromPretrained: ${file}: eos_token_id must be a token id or a non-empty list of them, got ${JSON.stringify(eos)}`);
  }
  return g;
}
