// Atomic file writes: readers see either the old file or the complete new one, never a torn write.

import { fileSystem, processId } from './files.js';
import { basename, dirname, join } from './path.js';

function randomHex(bytes: number): string {
  return Array.from(globalThis.crypto.getRandomValues(new Uint8Array(bytes)), (b) => b.toString(16).padStart(2, '0')).join('');
}

/**
 * Write `data` (bytes, a string, or chunks written in order) to `path` through a temp file in the
 * same directory (so the rename stays on one filesystem and is atomic), fsynced before the rename.
 * On any failure the temp file is removed and an existing file at `path` is left untouched.
 */
export async function writeFileAtomic(
  path: string,
  data: Uint8Array | string | Iterable<Uint8Array> | AsyncIterable<Uint8Array>,
): Promise<void> {
  const { open, rename, unlink } = fileSystem().promises;
  const tmp = join(dirname(path), `.${basename(path)}.${processId()}.${randomHex(6)}.tmp`);
  const fh = await open(tmp, 'wx'); // 'wx': never clobber a file we did not create
  try {
    try {
      if (typeof data === 'string' || data instanceof Uint8Array) await fh.writeFile(data);
      else {
        for await (const chunk of data) {
          // write(2) may write less than asked (over 2 GiB on Linux): loop until the chunk is out
          for (let off = 0; off < chunk.length;) off += (await fh.write(chunk, off, chunk.length - off)).bytesWritten;
        }
      }
      await fh.sync(); // data on disk before the rename makes it visible
    } finally {
      await fh.close();
    }
    await rename(tmp, path);
  } catch (err) {
    await unlink(tmp).catch(() => {});
    throw err;
  }
}
