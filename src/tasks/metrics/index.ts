// Task metrics, each matching its reference implementation: scikit-learn (classification),
// the official SQuAD v1.1 script, sacreBLEU (BLEU, chrF) and Google's rouge-score (ROUGE).
export {
  accuracy, macroF1, f1PerClass, matthewsCorrcoef, confusionMatrix, sortLabels,
  type Label, type ConfusionMatrix,
} from './classification.js';
export { squad, squadExact, squadF1, normalizeAnswer, type SquadScore } from './squad.js';
export { bleu, computeBleu, type BleuOptions, type BleuScore, type BleuSmoothing } from './bleu.js';
export { bleuTokenize, BLEU_TOKENIZERS, type BleuTokenizer } from './bleu_tokenizers.js';
export { chrf, type ChrfOptions, type ChrfScore } from './chrf.js';
export { rouge, rougeScore, rougeTokenize, type RougeOptions, type RougeScores, type RougeTriple, type RougeType } from './rouge.js';
export { porterStem } from './porter.js';
