// GPT-2's byte-level alphabet: every byte 0..255 gets a printable Unicode character, so that any
// UTF-8 text becomes a string of "byte characters" a BPE vocabulary can spell. Printable Latin-1
// bytes stand for themselves; the others (controls, space, 0x7f-0xa0, soft hyphen) are moved up
// to U+0100 onwards in byte order — which is why a space shows as 'Ġ' (U+0120) and '\n' as 'Ċ'.

function buildTable(): string[] {
  const table = new Array<string>(256);
  let next = 256;
  for (let b = 0; b < 256; b++) {
    const printable = (b >= 0x21 && b <= 0x7e) || (b >= 0xa1 && b <= 0xac) || (b >= 0xae && b <= 0xff);
    table[b] = String.fromCharCode(printable ? b : next++);
  }
  return table;
}

/** byte → its character in the byte-level alphabet. */
export const BYTE_TO_CHAR: readonly string[] = buildTable();

/** char code → byte, or -1 for characters outside the alphabet (all codes are below 324). */
export const CHAR_TO_BYTE: Int16Array = (() => {
  const t = new Int16Array(324).fill(-1);
  BYTE_TO_CHAR.forEach((ch, b) => { t[ch.charCodeAt(0)] = b; });
  return t;
})();

/** The 256 characters of the alphabet, in byte order. */
export function byteLevelAlphabet(): string[] {
  return [...BYTE_TO_CHAR];
}

/**
 * Writes the UTF-8 bytes of text[start, end) into `out` from index 0 and returns their count.
 * A lone surrogate becomes U+FFFD (EF BF BD), as TextEncoder does. `out` must hold 3 × (end - start).
 */
export function utf8Encode(text: string, start: number, end: number, out: Uint8Array | Int32Array): number {
  let n = 0;
  for (let i = start; i < end; i++) {
    let c = text.charCodeAt(i);
    if (c < 0x80) { out[n++] = c; continue; }
    if (c < 0x800) { out[n++] = 0xc0 | (c >> 6); out[n++] = 0x80 | (c & 63); continue; }
    if (c >= 0xd800 && c < 0xe000) {
      const lo = i + 1 < end ? text.charCodeAt(i + 1) : 0;
      if (c < 0xdc00 && lo >= 0xdc00 && lo < 0xe000) {
        c = ((c - 0xd800) << 10) + (lo - 0xdc00) + 0x10000;
        i++;
        out[n++] = 0xf0 | (c >> 18); out[n++] = 0x80 | ((c >> 12) & 63);
        out[n++] = 0x80 | ((c >> 6) & 63); out[n++] = 0x80 | (c & 63);
        continue;
      }
      c = 0xfffd;
    }
    out[n++] = 0xe0 | (c >> 12); out[n++] = 0x80 | ((c >> 6) & 63); out[n++] = 0x80 | (c & 63);
  }
  return n;
}

/** Number of UTF-8 bytes of the UTF-16 unit at `i` (0 for the low half of a surrogate pair). */
export function utf8UnitBytes(text: string, i: number): number {
  const c = text.charCodeAt(i);
  if (c < 0x80) return 1;
  if (c < 0x800) return 2;
  if (c >= 0xd800 && c < 0xdc00 && i + 1 < text.length) {
    const lo = text.charCodeAt(i + 1);
    if (lo >= 0xdc00 && lo < 0xe000) return 4;
  }
  if (c >= 0xdc00 && c < 0xe000 && i > 0) {
    const hi = text.charCodeAt(i - 1);
    if (hi >= 0xd800 && hi < 0xdc00) return 0;
  }
  return 3;
}

let scratch = new Uint8Array(1024);

/** The byte-level spelling of a string: 'hi there' → 'hiĠthere'. */
export function toByteLevel(text: string): string {
  if (scratch.length < text.length * 3) scratch = new Uint8Array(text.length * 3);
  const n = utf8Encode(text, 0, text.length, scratch);
  let out = '';
  for (let i = 0; i < n; i++) out += BYTE_TO_CHAR[scratch[i]!];
  return out;
}

const decoder = new TextDecoder('utf-8', { ignoreBOM: true }); // keep a leading U+FEFF: it is text

/** UTF-8 bytes → string; invalid sequences become U+FFFD, like Rust's from_utf8_lossy. */
export function utf8Decode(bytes: Uint8Array): string {
  return decoder.decode(bytes);
}
