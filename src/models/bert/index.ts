export { BertModel, BertForMaskedLM, BertForSequenceClassification, BertForQuestionAnswering } from './model.js';
export { bertConfig, bertConfigDict, numLabels, BERT_BASE, type BertConfig } from './config.js';
