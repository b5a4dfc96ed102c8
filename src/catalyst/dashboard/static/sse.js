// Server-Sent Events over fetch(): EventSource cannot send an Authorization header, and the
// token must never go into a URL. `readEvents` parses a response body as the SSE spec says
// (fields per line, blank line ends an event, comments ignored, CR/LF/CRLF line ends).

/**
 * @typedef {{event: string, data: string, id: string | null}} SseEvent
 */

/**
 * Calls `onEvent` for every event of `response`'s body until it ends; resolves then.
 * Rejects when the connection breaks (or `signal` aborts).
 * @param {Response} response
 * @param {(event: SseEvent) => void} onEvent
 * @param {(text: string) => void} [onComment] called with each comment's text (heartbeats)
 */
export async function readEvents(response, onEvent, onComment) {
  if (!response.body) return;
  const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = "";
  /** @type {string[]} */
  let data = [];
  let event = "";
  /** @type {string | null} */
  let id = null;
  let sawCR = false;
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return;
    let chunk = value;
    // A CRLF split across chunks: the LF belongs to the CR already handled.
    if (sawCR && chunk.startsWith("\n")) chunk = chunk.slice(1);
    sawCR = chunk.endsWith("\r");
    buffer += chunk;
    const lines = buffer.split(/\r\n|\r|\n/);
    buffer = lines.pop() ?? "";
    for (const line of lines) {
      if (line === "") {
        if (data.length || event) onEvent({ event: event || "message", data: data.join("\n"), id });
        data = [];
        event = "";
        id = null;
        continue;
      }
      if (line.startsWith(":")) {
        onComment?.(line.slice(1).trim());
        continue;
      }
      const colon = line.indexOf(":");
      const field = colon < 0 ? line : line.slice(0, colon);
      let text = colon < 0 ? "" : line.slice(colon + 1);
      if (text.startsWith(" ")) text = text.slice(1);
      if (field === "data") data.push(text);
      else if (field === "event") event = text;
      else if (field === "id" && !text.includes("\0")) id = text;
    }
  }
}
