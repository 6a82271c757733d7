// Messages between the training page and its worker.

export interface StartMessage {
  type: 'start';
  steps: number;
  seconds: number;
  device: 'cpu' | 'webgpu';
  corpusUrl: string;
  /** The model and batch; the page's defaults are the baby GPT of `tlm demo`. */
  model: { layers: number; heads: number; width: number; context: number; batch: number };
  kernels: { shared: string; single: string };
}

export type WorkerMessage =
  | { type: 'ready'; kernels: string; threads: number; isolated: boolean; device: string; params: number; vocab: number }
  | { type: 'loss'; step: number; loss: number; valLoss: number | null; tokensPerSecond: number }
  | { type: 'text'; text: string }
  | { type: 'sample'; text: string }
  | { type: 'done'; steps: number; seconds: number; trainLoss: number; valLoss: number; tokensPerSecond: number }
  | { type: 'error'; message: string };
