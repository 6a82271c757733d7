// File access, injected. The core modules reach files only through fileSystem() and ./path.ts, never
// through an import of node:fs, so the library loads where there is no file system (a browser tab:
// models and tokenizers come in as bytes there). In Node the default is node:fs itself, found
// through process.getBuiltinModule when first needed; setFileSystem() replaces it (a test double,
// a virtual file system, OPFS in a browser).

import type * as NodeFs from 'node:fs';
import type * as NodeFsPromises from 'node:fs/promises';

/** The part of node:fs the library uses (its signatures, so node:fs itself is one). */
export type FileSystem = Pick<typeof NodeFs,
  'existsSync' | 'mkdirSync' | 'readdirSync' | 'readFileSync' | 'writeFileSync' | 'appendFileSync' | 'renameSync' |
  'rmSync' | 'statSync' | 'openSync' | 'readSync' | 'writeSync' | 'closeSync' | 'unlinkSync'> & {
  promises: Pick<typeof NodeFsPromises, 'open' | 'readFile' | 'writeFile' | 'mkdir' | 'rename' | 'unlink' | 'stat'>;
};

let injected: FileSystem | null = null;
/** node:fs, once looked up (fileSystem() is called for every file operation). */
let nodeFs: FileSystem | undefined;

/** Replaces the file system the library reads and writes through (null: back to the platform's own). */
export function setFileSystem(fs: FileSystem | null): void {
  injected = fs;
}

/** The file system in use; a clear error where there is none (a browser without setFileSystem()). */
export function fileSystem(): FileSystem {
  if (injected !== null) return injected;
  const fs = nodeFs ??= globalThis.process?.getBuiltinModule?.('node:fs') as FileSystem | undefined;
  if (fs === undefined) {
    throw new Error('no file system here (this is not Node): load models and tokenizers from bytes, or call setFileSystem() first');
  }
  return fs;
}

/** This process's id where there is one (names temporary files), else 0. */
export function processId(): number {
  return globalThis.process?.pid ?? 0;
}
