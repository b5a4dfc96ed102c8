// The environments table: filtered by status and text, newest first, one page of PAGE_SIZE
// rows in the DOM at a time (so 1,000 environments cost no more than 50), redrawn at most
// once per animation frame however many watch events arrive.

import { badge, duration, el, expiry } from "./format.js";

const PAGE_SIZE = 50;

/**
 * Shows the list in `root` until `signal` aborts.
 * @param {HTMLElement} root
 * @param {import("./watch.js").EnvironmentWatch} watch
 * @param {AbortSignal} signal
 */
export function showList(root, watch, signal) {
  const view = /** @type {DocumentFragment} */ (
    /** @type {HTMLTemplateElement} */ (document.getElementById("list-template")).content.cloneNode(true)
  );
  const form = /** @type {HTMLFormElement} */ (view.querySelector("[data-filters]"));
  const rows = /** @type {HTMLElement} */ (view.querySelector("[data-rows]"));
  const count = /** @type {HTMLElement} */ (view.querySelector("[data-count]"));
  const pageLabel = /** @type {HTMLElement} */ (view.querySelector("[data-page]"));
  const prev = /** @type {HTMLButtonElement} */ (view.querySelector("[data-prev]"));
  const next = /** @type {HTMLButtonElement} */ (view.querySelector("[data-next]"));
  const params = new URLSearchParams(location.hash.split("?")[1] ?? "");
  /** @type {HTMLSelectElement} */ (form.elements.namedItem("status")).value = params.get("status") ?? "";
  /** @type {HTMLInputElement} */ (form.elements.namedItem("text")).value = params.get("q") ?? "";
  let page = 0;
  let scheduled = false;

  function render() {
    scheduled = false;
    const status = /** @type {HTMLSelectElement} */ (form.elements.namedItem("status")).value;
    const text = /** @type {HTMLInputElement} */ (form.elements.namedItem("text")).value.trim().toLowerCase();
    const now = Date.now();
    const matching = [...watch.environments.values()]
      .filter((e) => !status || e.status === status)
      .filter((e) => !text || `${e.id} ${e.name} ${e.chartName} ${e.statusReason}`.toLowerCase().includes(text))
      .sort((a, b) => Date.parse(b.createdAt) - Date.parse(a.createdAt) || b.id - a.id);
    const pages = Math.max(1, Math.ceil(matching.length / PAGE_SIZE));
    page = Math.min(page, pages - 1);
    const shown = matching.slice(page * PAGE_SIZE, (page + 1) * PAGE_SIZE);
    const fragment = document.createDocumentFragment();
    for (const e of shown) {
      const row = el("tr", undefined, { "data-id": String(e.id), "data-status": e.status });
      row.append(el("td", String(e.id)));
      const nameCell = el("td");
      nameCell.append(el("a", e.name, { href: `#/environments/${e.id}` }));
      row.append(nameCell, el("td", e.chartName));
      const statusCell = el("td");
      statusCell.append(badge(e.status));
      row.append(statusCell, el("td", e.statusReason, { class: "reason", title: e.statusMessage || e.statusReason }));
      row.append(el("td", duration(e.createdAt, now)), el("td", expiry(e.expiresAt, now)));
      fragment.append(row);
    }
    if (!shown.length) {
      const empty = el("tr");
      empty.append(el("td", watch.synced ? "No environments match." : "Loading…", { colspan: "7" }));
      fragment.append(empty);
    }
    rows.replaceChildren(fragment);
    count.textContent = `${matching.length} of ${watch.environments.size} environments`;
    pageLabel.textContent = `Page ${page + 1} of ${pages}`;
    prev.disabled = page === 0;
    next.disabled = page >= pages - 1;
  }

  function schedule() {
    if (scheduled) return;
    scheduled = true;
    requestAnimationFrame(render);
  }

  function filtersChanged() {
    page = 0;
    const status = /** @type {HTMLSelectElement} */ (form.elements.namedItem("status")).value;
    const text = /** @type {HTMLInputElement} */ (form.elements.namedItem("text")).value;
    const query = new URLSearchParams();
    if (status) query.set("status", status);
    if (text) query.set("q", text);
    const hash = query.size ? `#/?${query}` : "#/";
    history.replaceState(null, "", hash);
    schedule();
  }

  form.addEventListener("input", filtersChanged);
  form.addEventListener("submit", (event) => event.preventDefault());
  prev.addEventListener("click", () => { page -= 1; schedule(); });
  next.addEventListener("click", () => { page += 1; schedule(); });
  watch.addEventListener("change", schedule, { signal });
  // Ages and expiries move with the clock (a local timer: no request to the server).
  const ticker = setInterval(schedule, 15000);
  signal.addEventListener("abort", () => clearInterval(ticker));
  root.replaceChildren(view);
  render();
}
