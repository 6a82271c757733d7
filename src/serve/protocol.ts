// The messages between the main thread (HTTP, tokenizers, SSE) and the model worker (weights,
// engines, forward passes). Plain data only: they cross a MessagePort by structured clone.

import type { EngineRequest, SequenceResult, TokenEvent } from '../generate/batch_engine.js';
import type { TaskName } from '../models/index.js';

export interface ModelSpec { name: string; dir: string }

/** What the main thread needs to know of a loaded model to validate requests. */
export interface ModelInfo {
  name: string;
  dir: string;
  architecture: string;
  tasks: TaskName[];
  /** Positions the model sees at once (n_positions / max_position_embeddings). */
  contextLength: number;
  eosTokenIds: number[];
  bosTokenId: number | null;
  /** Token ids the model embeds (a prompt of ids must stay below). */
  vocabSize: number;
  /** Hidden size (the embedding dimension). */
  hiddenSize: number;
  layers: number;
  heads: number;
}

export interface EngineStats { running: number; queued: number; batchSize: number }

export type WorkerOp = 'embed' | 'classify' | 'answer' | 'translate' | 'summarize' | 'attention';

export interface WorkerInit { models: ModelSpec[]; maxBatch: number; maxQueue: number; device: 'cpu' | 'webgpu' }

export type ToWorker =
  // A request's sequences (its n choices), admitted all or none.
  | { type: 'generate'; ids: number[]; model: string; reqs: EngineRequest[] }
  | { type: 'cancel'; id: number }
  | { type: 'call'; id: number; model: string; op: WorkerOp; args: unknown };

/** queue_full → 429, input → 400, unsupported → 404 (the model's task), internal → 500. */
export type ErrorKind = 'queue_full' | 'input' | 'unsupported' | 'internal';

export type FromWorker =
  | { type: 'ready'; models: ModelInfo[] }
  | { type: 'fatal'; message: string }
  | { type: 'accepted'; id: number }
  | { type: 'token'; id: number; event: TokenEvent }
  | { type: 'done'; id: number; result: SequenceResult }
  | { type: 'result'; id: number; value: unknown }
  | { type: 'error'; id: number; kind: ErrorKind; message: string }
  | { type: 'stats'; stats: Record<string, EngineStats> };

// ---- the operations' arguments and results --------------------------------------------------

export interface EmbedArgs { inputs: number[][] }
export interface AttentionArgs { ids: number[] }
export interface AttentionResult { layers: number; heads: number; weights: number[][][][] }
export interface ClassifyArgs { inputs: (string | { text: string; textPair?: string })[] }
export interface ClassifyResult { labels: string[]; results: { label: string; probs: number[] }[] }
export interface AnswerArgs { examples: { question: string; context: string }[] }
export interface AnswerResult { text: string; score: number; probability: number; start: number; end: number }
export interface Seq2SeqArgs { inputs: string[]; numBeams?: number; maxNewTokens?: number }
