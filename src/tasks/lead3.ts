// The Lead-3 baseline of summarization: the first three sentences of the document. For dialogues
// (SAMSum), as the SAMSum paper does, the first three utterances (lines), joined by newlines so that
// ROUGE-Lsum reads them as three sentences.

/** The first n utterances of a dialogue (lines; CRLF or LF), or of a text's sentences when it has one line. */
export function lead3(document: string, n = 3): string {
  const lines = document.split(/\r?\n/).map((l) => l.trim()).filter((l) => l !== '');
  if (lines.length > 1) return lines.slice(0, n).join('\n');
  // One paragraph: cut after sentence-final punctuation followed by a space.
  const sentences = (lines[0] ?? '').split(/(?<=[.!?])\s+/).filter((s) => s !== '');
  return sentences.slice(0, n).join('\n');
}
