// A training process for the kill-and-resume test: trains TinyLM on a fixed corpus into argv[2],
// resuming from its latest checkpoint when argv[3] is "resume". Prints each step's loss as JSON lines.
import { TokenStream, trainValSplit } from '../../src/train/data.js';
import { Trainer, defaultTrainerConfig } from '../../src/train/trainer.js';
import { TinyLM } from './tiny_lm.js';

export const corpus = 'the cat sat on the mat. the dog sat on the log. '.repeat(60);
export const childConfig = { ...defaultTrainerConfig, batchSize: 4, blockSize: 16, maxIters: 300, lr: 3e-2, minLr: 3e-3,
  warmupIters: 5, lrDecayIters: 300, evalInterval: 10, evalIters: 1, logInterval: 1, seed: 11 };

export async function trainTiny(outDir: string | null, resume: boolean, onLoss?: (step: number, loss: number) => void) {
  const vocab = [...new Set(corpus)].sort();
  const ids = Int32Array.from(corpus, (c) => vocab.indexOf(c));
  const trainer = new Trainer(new TinyLM(vocab.length, 16, 1), trainValSplit(TokenStream.fromArray(ids)), childConfig, outDir);
  if (resume) await trainer.resume();
  return trainer.run({ quiet: true, onLog: (p) => { if (p.train_loss !== null) onLoss?.(p.step, p.train_loss); } });
}

if (process.argv[1]?.endsWith('train_child.js')) {
  await trainTiny(process.argv[2]!, process.argv[3] === 'resume', (step, loss) => console.log(JSON.stringify({ step, loss })));
}
