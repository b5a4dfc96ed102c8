// Small pure helpers for showing data: every value reaches the page as text (textContent),
// never as markup.

/**
 * An element with text content and optional attributes.
 * @param {string} tag
 * @param {string} [text]
 * @param {Record<string, string>} [attributes]
 */
export function el(tag, text, attributes = {}) {
  const node = document.createElement(tag);
  if (text !== undefined) node.textContent = text;
  for (const [name, value] of Object.entries(attributes)) node.setAttribute(name, value);
  return node;
}

// An environment's statuses, and a resource's (kstatus words) coloured like the nearest one.
const TONES = {
  starting: "starting", running: "running", failed: "failed", deleting: "deleting",
  InProgress: "starting", Current: "running", Failed: "failed", Terminating: "deleting",
};

/** A coloured status badge (colour and the word: never colour alone). @param {string} status */
export function badge(status) {
  const tone = Object.hasOwn(TONES, status) ? TONES[/** @type {keyof TONES} */ (status)] : "unknown";
  return el("span", status, { class: `badge badge-${tone}` });
}

/**
 * "3m", "2h 5m", "4d": the time between `iso` and now (absolute value).
 * @param {string | null} iso
 * @param {number} now milliseconds
 */
export function duration(iso, now) {
  if (!iso) return "—";
  let seconds = Math.round(Math.abs(now - Date.parse(iso)) / 1000);
  if (seconds < 60) return `${seconds}s`;
  const minutes = Math.floor(seconds / 60);
  if (minutes < 60) return `${minutes}m`;
  const hours = Math.floor(minutes / 60);
  if (hours < 48) return `${hours}h ${minutes % 60}m`;
  return `${Math.floor(hours / 24)}d ${hours % 24}h`;
}

/** When an expiry falls, relative to now. @param {string | null} iso @param {number} now */
export function expiry(iso, now) {
  if (!iso) return "—";
  return Date.parse(iso) > now ? `in ${duration(iso, now)}` : `${duration(iso, now)} ago`;
}

/** A <time> element showing `iso` in the reader's locale. @param {string | null} iso */
export function time(iso) {
  if (!iso) return el("span", "—");
  return el("time", new Date(iso).toLocaleString(), { datetime: iso, title: iso });
}
