// File formats: safetensors, and the atomic write every saver uses.
export {
  loadSafetensors, saveSafetensors, parseSafetensors, serializeSafetensors,
  openSafetensors, readSafetensors, parseSafetensorsRaw, parseSafetensorsHeader, MAX_HEADER_BYTES,
  type SafetensorsDType, type SafetensorsEntry, type SafetensorsHeader, type SafetensorsReader,
  type RawTensor, type RawSafetensors,
} from './safetensors.js';
export { writeFileAtomic } from './atomic.js';
export { decodeText, firstInvalidUtf8, InvalidUtf8Error, type DecodeTextOptions } from './utf8.js';
