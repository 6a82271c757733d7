// Learning-rate schedules: functions from the step (0-based) to the learning rate.

export type Schedule = (step: number) => number;

/** nanoGPT's: linear warmup to lr, cosine decay to minLr at decayIters, minLr after. */
export function warmupCosine(o: { lr: number; minLr: number; warmupIters: number; decayIters: number }): Schedule {
  return (step) => {
    if (step < o.warmupIters) return o.lr * (step + 1) / (o.warmupIters + 1);
    if (step > o.decayIters) return o.minLr;
    const ratio = (step - o.warmupIters) / Math.max(1, o.decayIters - o.warmupIters);
    return o.minLr + 0.5 * (1 + Math.cos(Math.PI * ratio)) * (o.lr - o.minLr);
  };
}

/** Linear warmup, then linear decay to minLr at decayIters. */
export function warmupLinear(o: { lr: number; minLr?: number; warmupIters: number; decayIters: number }): Schedule {
  const minLr = o.minLr ?? 0;
  return (step) => {
    if (step < o.warmupIters) return o.lr * (step + 1) / (o.warmupIters + 1);
    if (step >= o.decayIters) return minLr;
    return o.lr - (o.lr - minLr) * (step - o.warmupIters) / Math.max(1, o.decayIters - o.warmupIters);
  };
}

export function constant(lr: number): Schedule {
  return () => lr;
}

/** The original Transformer's: factor · d^-0.5 · min(step^-0.5, step · warmup^-1.5) (1-based step). */
export function noam(o: { dModel: number; warmupSteps: number; factor?: number }): Schedule {
  return (step) => {
    const s = step + 1;
    return (o.factor ?? 1) * o.dModel ** -0.5 * Math.min(s ** -0.5, s * o.warmupSteps ** -1.5);
  };
}

/**
 * fairseq's inverse_sqrt (the Noam shape with the peak given as lr): linear warmup to lr at
 * warmupIters, then lr · sqrt(warmup / step), never below minLr.
 */
export function inverseSqrt(o: { lr: number; minLr?: number; warmupIters: number }): Schedule {
  const w = Math.max(1, o.warmupIters);
  return (step) => {
    const s = step + 1;
    return s < w ? o.lr * s / w : Math.max(o.minLr ?? 0, o.lr * Math.sqrt(w / s));
  };
}

export function makeSchedule(name: 'cosine' | 'linear' | 'constant' | 'noam' | 'inverse_sqrt', o: {
  lr: number; minLr: number; warmupIters: number; decayIters: number; dModel?: number;
}): Schedule {
  switch (name) {
    case 'cosine': return warmupCosine(o);
    case 'linear': return warmupLinear(o);
    case 'constant': return constant(o.lr);
    case 'noam': return noam({ dModel: o.dModel ?? 512, warmupSteps: Math.max(1, o.warmupIters), factor: o.lr });
    case 'inverse_sqrt': return inverseSqrt(o);
  }
}
