// Extractive question answering (SQuAD): examples → windowed features with answer labels, and
// model logits → answer spans. The reading order: qa_types.ts (shapes, input checks),
// qa_features.ts (prepareQaFeatures), qa_postprocess.ts (postprocessQaPredictions).
//
//   const features = prepareQaFeatures(tok, examples, { maxLength: 384, docStride: 128 });
//   // … run the model on features' inputIds / tokenTypeIds / attentionMask …
//   const preds = postprocessQaPredictions(examples, features, startLogits, endLogits, { nBest: 20, maxAnswerLength: 30 });
//   preds[0].text, preds[0].start, preds[0].end, preds[0].score

export { QaFeatureError, type QaAnswer, type QaExample, type QaFeature } from './qa_types.js';
export { prepareQaFeatures, questionMatchTypeOf, type QaFeatureOptions } from './qa_features.js';
export { postprocessQaPredictions, type QaCandidate, type QaPostprocessOptions, type QaPrediction } from './qa_postprocess.js';
