// Server-sent events from a fetch body: the browser's EventSource cannot POST, so the page reads
// the stream itself. Events are separated by a blank line; an event's `data:` lines join with \n.

export async function* sseData(body: ReadableStream<Uint8Array>): AsyncGenerator<string> {
  const reader = body.getReader();
  const decoder = new TextDecoder(); // { stream: true } keeps a character split across reads whole
  let buffer = '';
  try {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      // Line ends may be \r\n or \r; a \r at the end waits for the next read, which may bring its \n.
      buffer = (buffer + decoder.decode(value, { stream: true })).replace(/\r\n|\r(?!$)/g, '\n');
      let end: number;
      while ((end = buffer.indexOf('\n\n')) >= 0) {
        const data = dataOf(buffer.slice(0, end));
        buffer = buffer.slice(end + 2);
        if (data !== null) yield data;
      }
    }
    const rest = dataOf(buffer);
    if (rest !== null) yield rest;
  } finally {
    // A consumer that stops early closes the connection, so the server frees the sequence.
    reader.cancel().catch(() => undefined);
  }
}

/** The data of one event, or null for an event without data (a comment, a keep-alive). */
function dataOf(event: string): string | null {
  const lines = event.split('\n').filter((l) => l.startsWith('data:'));
  if (lines.length === 0) return null;
  return lines.map((l) => l.slice(l.startsWith('data: ') ? 6 : 5)).join('\n');
}
