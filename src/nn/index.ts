export { Module, parameter, StateDictError } from './module.js';
export * as functional from '../functional.js';
