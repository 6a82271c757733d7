// Strict UTF-8 for training text: bytes that are not UTF-8 (Latin-1, UTF-16, binary) are refused with
// the byte offset of the first bad sequence, instead of being decoded into U+FFFD and trained on.

const strict = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });
const lossy = new TextDecoder('utf-8', { fatal: false, ignoreBOM: true });

/** Text that is not valid UTF-8; `offset` is the byte offset of the first invalid sequence in the file. */
export class InvalidUtf8Error extends Error {
  constructor(readonly file: string, readonly offset: number, detail: string) {
    super(`${file} is not valid UTF-8: ${detail} at byte ${offset}; convert it to UTF-8 (e.g. iconv -f latin1 -t utf-8), or pass --lossy-utf8 to replace invalid bytes with U+FFFD`);
  }
}

/** Index of the first byte that starts an invalid (or truncated) UTF-8 sequence, or -1. */
export function firstInvalidUtf8(b: Uint8Array): number {
  let i = 0;
  while (i < b.length) {
    const c = b[i]!;
    if (c < 0x80) { i++; continue; }
    let n: number, min: number;
    if (c >= 0xc2 && c <= 0xdf) { n = 1; min = 0x80; }
    else if (c >= 0xe0 && c <= 0xef) { n = 2; min = 0x800; }
    else if (c >= 0xf0 && c <= 0xf4) { n = 3; min = 0x10000; }
    else return i;
    if (i + n >= b.length) return i; // truncated at the end
    let cp = c & (0x3f >> n);
    for (let k = 1; k <= n; k++) {
      const cc = b[i + k]!;
      if ((cc & 0xc0) !== 0x80) return i;
      cp = (cp << 6) | (cc & 0x3f);
    }
    if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return i;
    i += n + 1;
  }
  return -1;
}

export interface DecodeTextOptions {
  /** Name used in errors and warnings. */
  file: string;
  /** Byte offset of `bytes` within the file (for error offsets); 0 = the start, where a BOM is looked for. */
  offset?: number;
  /** Replace invalid bytes with U+FFFD instead of throwing. */
  lossy?: boolean;
  /** Called once per call with a warning (NUL bytes). */
  warn?: (message: string) => void;
}

/**
 * Decodes one chunk of a text file. At offset 0 a UTF-8 byte-order mark is dropped and a UTF-16/32
 * one is an error; invalid UTF-8 throws InvalidUtf8Error (unless lossy); NUL bytes are warned about.
 */
export function decodeText(bytes: Uint8Array, o: DecodeTextOptions): string {
  const offset = o.offset ?? 0;
  let b = bytes;
  if (offset === 0) {
    if (b[0] === 0xef && b[1] === 0xbb && b[2] === 0xbf) b = b.subarray(3);
    else if ((b[0] === 0xff && b[1] === 0xfe) || (b[0] === 0xfe && b[1] === 0xff)) {
      throw new InvalidUtf8Error(o.file, 0, `it starts with a UTF-16 byte-order mark (${b[0]!.toString(16).toUpperCase()} ${b[1]!.toString(16).toUpperCase()})`);
    }
  }
  const nul = b.indexOf(0);
  if (nul >= 0) o.warn?.(`warning: ${o.file} has NUL bytes (first at byte ${offset + (bytes.length - b.length) + nul}): is it a binary or UTF-16 file?`);
  if (o.lossy) return lossy.decode(b);
  try {
    return strict.decode(b);
  } catch {
    const at = firstInvalidUtf8(b);
    const where = offset + (bytes.length - b.length) + Math.max(at, 0);
    const shown = Array.from(b.subarray(Math.max(at, 0), Math.max(at, 0) + 4), (x) => x.toString(16).toUpperCase().padStart(2, '0')).join(' ');
    throw new InvalidUtf8Error(o.file, where, `invalid byte sequence ${shown}`);
  }
}
