// Training: the general Trainer, the language-modeling task, token streams and schedules.
export { Trainer, defaultTrainerConfig, CheckpointMismatchError, decayGroups, type TrainerConfig, type TrainingArguments,
  type MetricRecord, type TrainResult, type RunOptions, type LanguageModel, type LmOptions } from './trainer.js';
export { layerLrScales, loraPlusScales, parameterDepth, type LrScaling, type TrainGroup } from './param_groups.js';
export { LanguageModelingTask } from './lm_task.js';
export { TokenStream, trainValSplit, causalBatch, mlmBatch, maskTokens, type MlmOptions } from './data.js';
export { makeSchedule, warmupCosine, warmupLinear, constant, noam, inverseSqrt, type Schedule } from './schedule.js';
export type { TrainingTask } from './task.js';
