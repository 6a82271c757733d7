export { GPT2LMHeadModel, GPT2Model, Conv1D, causalLmLoss } from './model.js';
export { gpt2Config, gpt2ConfigDict, GPT2_SMALL, type GPT2Config } from './config.js';
export { GPT2ForSequenceClassification } from './classification.js';
