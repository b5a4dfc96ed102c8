// One environment's page: its fields (values as the API shows them: secrets are "***"),
// its resources with their own status and reason (read from the cluster on open and after
// each status change), its history as a timeline, its log stream, and the actions.
// The fields follow the watch stream live; the history is read again on each change.

import { api } from "./api.js";
import { badge, el, expiry, time } from "./format.js";
import { followLog } from "./logs.js";

/**
 * @param {HTMLElement} root
 * @param {number} id
 * @param {import("./watch.js").EnvironmentWatch} watch
 * @param {AbortSignal} signal
 */
export function showDetail(root, id, watch, signal) {
  const view = /** @type {DocumentFragment} */ (
    /** @type {HTMLTemplateElement} */ (document.getElementById("detail-template")).content.cloneNode(true)
  );
  // The section itself, not the fragment: a fragment is empty once its nodes are placed.
  const section = /** @type {HTMLElement} */ (view.querySelector("section"));
  /** @param {string} name */
  const part = (name) => /** @type {HTMLElement} */ (section.querySelector(`[data-${name}]`));
  const title = part("title");
  const error = part("error");
  const fields = part("fields");
  const resources = part("resources");
  const timeline = part("history");
  const values = part("values");
  const logForm = /** @type {HTMLFormElement} */ (part("log-form"));
  const logBox = part("logs");
  const logState = part("log-state");
  const logStop = /** @type {HTMLButtonElement} */ (part("log-stop"));
  const deleteDialog = /** @type {HTMLDialogElement} */ (part("delete-dialog"));
  const rebuildDialog = /** @type {HTMLDialogElement} */ (part("rebuild-dialog"));
  const rebuildValues = /** @type {HTMLTextAreaElement} */ (part("rebuild-values"));
  const rebuildError = part("rebuild-error");
  const streamInput = /** @type {HTMLInputElement} */ (logForm.elements.namedItem("stream"));
  const streams = part("streams");

  /** @type {any} */
  let environment = watch.get(id) ?? null;
  /** @type {string | null} */
  let shownStatus = null;
  /** @type {AbortController | null} */
  let logAbort = null;

  /** @param {unknown} failure */
  const showError = (failure) => {
    error.textContent = String(/** @type {any} */ (failure)?.message ?? failure);
  };

  function renderFields() {
    if (!environment) return;
    title.textContent = `${environment.name} (#${environment.id})`;
    document.title = `${environment.name} – Catalyst`;
    const now = Date.now();
    /** @type {[string, Node | string][]} */
    const rows = [
      ["Status", badge(environment.status)],
      ["Reason", environment.statusReason || "—"],
      ["Message", environment.statusMessage || "—"],
      ["Failure kind", environment.failureKind ?? "—"],
      ["Chart", environment.chartName],
      ["Created", time(environment.createdAt)],
      ["Updated", time(environment.updatedAt)],
      ["Status observed", time(environment.statusObservedAt)],
      ["Expires", environment.expiresAt ? expiry(environment.expiresAt, now) : "—"],
    ];
    const fragment = document.createDocumentFragment();
    for (const [label, value] of rows) {
      const dd = el("dd");
      dd.append(value);
      fragment.append(el("dt", label), dd);
    }
    fields.replaceChildren(fragment);
    fields.dataset.status = environment.status;
    values.textContent = JSON.stringify(environment.values ?? {}, null, 2);
    if (!streamInput.value) streamInput.value = `${environment.chartName}/install-${environment.chartName}`;
    streams.replaceChildren(el("option", undefined, { value: `${environment.chartName}/install-${environment.chartName}` }));
  }

  async function loadResources() {
    try {
      const latest = await api.environment(id, true);
      if (signal.aborted) return;
      const fragment = document.createDocumentFragment();
      for (const r of latest.resources ?? []) {
        const row = el("tr");
        const statusCell = el("td");
        statusCell.append(badge(r.status));
        row.append(el("td", r.kind), el("td", r.name), statusCell, el("td", r.reason || "—"), el("td", r.message || ""));
        fragment.append(row);
      }
      if (!fragment.childNodes.length) {
        const row = el("tr");
        row.append(el("td", "No resources in the cluster.", { colspan: "5" }));
        fragment.append(row);
      }
      resources.replaceChildren(fragment);
    } catch (failure) {
      const row = el("tr");
      row.append(el("td", `Could not read the cluster: ${/** @type {any} */ (failure).message}`, { colspan: "5" }));
      resources.replaceChildren(row);
    }
  }

  async function loadHistory() {
    /** @type {any[]} */
    const items = [];
    /** @type {number | null} */
    let after = null;
    try {
      do {
        const page = await api.history(id, after);
        items.push(...page.items);
        after = page.next ?? null;
      } while (after !== null && !signal.aborted);
    } catch (failure) {
      showError(failure);
      return;
    }
    const fragment = document.createDocumentFragment();
    for (const change of items) {
      const item = el("li", undefined, { "data-to": change.to });
      const head = el("p", undefined, { class: "change" });
      head.append(time(change.at), " ", change.from_ ?? change.from ?? "—", " → ");
      head.append(badge(change.to), " ", el("span", change.reason, { class: "reason" }));
      item.append(head);
      const extra = [change.message, change.failureKind && `failure: ${change.failureKind}`, `by ${change.source}`]
        .filter(Boolean).join(" · ");
      item.append(el("p", extra, { class: "muted" }));
      fragment.append(item);
    }
    timeline.replaceChildren(fragment);
  }

  async function load() {
    if (!environment) {
      try {
        environment = await api.environment(id, false);
      } catch (failure) {
        title.textContent = `Environment #${id}`;
        showError(failure);
        return;
      }
    }
    shownStatus = environment.status;
    renderFields();
    await Promise.all([loadResources(), loadHistory()]);
  }

  watch.addEventListener("change", (event) => {
    const ids = /** @type {CustomEvent} */ (event).detail;
    if (ids !== null && !ids.includes(id)) return;
    const current = watch.get(id);
    if (!current) {
      if (environment) {
        title.textContent = `${environment.name} (#${id}): deleted`;
        fields.dataset.status = "deleted";
      }
      return;
    }
    environment = current;
    renderFields();
    loadHistory();
    if (current.status !== shownStatus) {
      shownStatus = current.status;
      loadResources();
    }
  }, { signal });

  /** @param {() => Promise<any>} action */
  async function act(action) {
    error.textContent = "";
    try {
      const updated = await action();
      if (updated && typeof updated.id === "number") {
        environment = updated;
        watch.upsert(updated);
      }
    } catch (failure) {
      showError(failure);
    }
  }

  part("keep").addEventListener("click", () => act(() => api.keep(id)));
  part("delete-open").addEventListener("click", () => {
    part("delete-text").textContent = `${environment?.name ?? `#${id}`} and everything it runs will be deleted.`;
    deleteDialog.showModal();
  });
  deleteDialog.addEventListener("close", () => {
    if (deleteDialog.returnValue === "delete") act(() => api.remove(id));
  });
  // Values still holding "***" (secrets the API never shows) would be sent literally:
  // the first Rebuild says so, a second one sends them anyway.
  let warnedRedacted = false;
  part("rebuild-open").addEventListener("click", () => {
    rebuildValues.value = JSON.stringify(environment?.values ?? {}, null, 2);
    rebuildError.textContent = "";
    warnedRedacted = false;
    rebuildDialog.showModal();
  });
  part("rebuild-confirm").addEventListener("click", (event) => {
    try {
      const parsed = JSON.parse(rebuildValues.value || "{}");
      if (!warnedRedacted && JSON.stringify(parsed).includes('"***"')) {
        warnedRedacted = true;
        event.preventDefault();
        rebuildError.textContent =
          "Some values are still *** (secrets are never shown): type them again, or press Rebuild again to send *** as they are.";
        return;
      }
      rebuildDialog.returnValue = "rebuild";
      act(() => api.rebuild(id, parsed));
    } catch (failure) {
      event.preventDefault();
      rebuildError.textContent = `Values are not valid JSON: ${/** @type {any} */ (failure).message}`;
    }
  });

  logForm.addEventListener("submit", async (event) => {
    event.preventDefault();
    logAbort?.abort();
    const abort = new AbortController();
    logAbort = abort;
    signal.addEventListener("abort", () => abort.abort());
    logStop.disabled = false;
    await followLog(id, streamInput.value.trim(), logBox, (state) => {
      logState.textContent = state;
    }, abort.signal);
    if (logAbort === abort) logStop.disabled = true;
  });
  logStop.addEventListener("click", () => logAbort?.abort());

  root.replaceChildren(view);
  load();
}
