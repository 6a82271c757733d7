// Tensors created and never disposed, whether still alive or already reclaimed by the cpu backend's
// finalizer: a flat count means no leak, however the garbage collector happens to time its work
// (memory().numTensors alone drops when it collects a tensor made before the count was taken).

import { memory } from '../../src/index.js';

export function liveTensors(): number {
  const m = memory();
  return m.numTensors + m.numCollected;
}
