// What every route shares: the worker proxy, the models as the main thread knows them (info,
// tokenizer, chat template), the caps, the metrics, and the checks that turn bad input into 4xx.

import type { z } from 'zod';
import type { Tokenizer } from '../tokenizers/index.js';
import type { TaskName } from '../models/index.js';
import type { ChatTemplate } from './chat_template.js';
import type { ModelHost } from './model_host.js';
import type { ServerMetrics } from './metrics.js';
import type { ModelInfo } from './protocol.js';
import type { Limits } from './schemas.js';
import { fromZod, modelNotFound, unsupported } from './errors.js';

export interface ServedModel { info: ModelInfo; tokenizer: Tokenizer; chat: ChatTemplate }

const VERB: Partial<Record<TaskName, string>> = { 'causal-lm': 'generates text' };

export class ServeContext {
  constructor(readonly host: ModelHost, readonly models: Map<string, ServedModel>, readonly limits: Limits, readonly metrics: ServerMetrics) {}

  /** The model by name, or 404 model_not_found. */
  model(name: string): ServedModel {
    const m = this.models.get(name);
    if (m === undefined) throw modelNotFound(name, [...this.models.keys()]);
    return m;
  }

  /** The model by name, which must implement task (else 404 saying what it is and does). */
  modelFor(name: string, task: TaskName, route: string): ServedModel {
    const m = this.model(name);
    if (!m.info.tasks.includes(task)) {
      throw unsupported(`model '${name}' is a ${m.info.architecture} (${m.info.tasks.join(', ') || 'no task head'}); ${route} needs a model that ${VERB[task] ?? `implements ${task}`}`);
    }
    return m;
  }

  /** The body as the schema's type, or a 400 naming the first bad field. */
  parse<S extends z.ZodType>(schema: S, body: unknown): z.infer<S> {
    const r = schema.safeParse(body);
    if (!r.success) throw fromZod(r.error);
    return r.data;
  }
}
