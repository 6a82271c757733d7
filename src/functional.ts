// nn.functional, as torch.nn.functional.
export {
  softmax, logSoftmax, gelu, relu, sigmoid, tanh, layerNorm, embedding, dropout, crossEntropy, nllLoss, klDiv,
  scaledDotProductAttention, linear, matmulBias, causalMask,
} from './tensor/ops/index.js';
