// tlm: Transformer language models in TypeScript.
import './backend/cpu/index.js';
export * from './tensor/index.js';
export * as functional from './functional.js';
