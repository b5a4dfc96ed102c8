// A followed log stream (GET /api/environments/{id}/logs?stream=…, SSE over fetch) shown in
// a scrolling box. Lines are appended in batches once per animation frame and only the last
// MAX_LINES are kept, so thousands of lines arrive without jank; the box stays scrolled to
// the bottom unless the reader scrolled up. Ends by itself when the container ends.

import { authHeaders, errorOf } from "./api.js";
import { el } from "./format.js";
import { readEvents } from "./sse.js";

const MAX_LINES = 10000;

/**
 * Follow `stream` of environment `id` into `box`; `onState` hears "following", "ended"
 * or an error message. Resolves when the stream ends; abort with `signal`.
 * @param {number} id
 * @param {string} stream
 * @param {HTMLElement} box
 * @param {(state: string) => void} onState
 * @param {AbortSignal} signal
 */
export async function followLog(id, stream, box, onState, signal) {
  box.replaceChildren();
  /** @type {string[]} */
  let pending = [];
  let scheduled = false;
  let lines = 0;

  function flush() {
    scheduled = false;
    const atBottom = box.scrollHeight - box.scrollTop - box.clientHeight < 40;
    const fragment = document.createDocumentFragment();
    for (const line of pending) fragment.append(el("div", line, { class: "log-line" }));
    lines += pending.length;
    pending = [];
    box.append(fragment);
    while (lines > MAX_LINES && box.firstChild) {
      box.firstChild.remove();
      lines -= 1;
    }
    if (atBottom) box.scrollTop = box.scrollHeight;
  }

  onState("waiting for the container…");
  try {
    const url = `/api/environments/${id}/logs?stream=${encodeURIComponent(stream)}`;
    const response = await fetch(url, { headers: authHeaders({ Accept: "text/event-stream" }), signal, cache: "no-store" });
    if (!response.ok) throw await errorOf(response);
    onState("following");
    await readEvents(response, (event) => {
      for (const entry of JSON.parse(event.data).logs ?? []) pending.push(String(entry.log));
      if (!scheduled) {
        scheduled = true;
        requestAnimationFrame(flush);
      }
    });
    flush();
    onState(`ended (${lines} lines)`);
  } catch (error) {
    flush();
    if (signal.aborted) onState("stopped");
    else onState(`error: ${error?.message ?? error}`);
  }
}
