// The create form: a chart picked from GET /api/charts, its default values
// (GET /api/charts/{name}) as editable JSON, and POST /api/environments. Errors in the
// contract's shape are shown as one readable message; success opens the new environment.

import { api } from "./api.js";
import { el } from "./format.js";

/**
 * @param {HTMLElement} root
 * @param {import("./watch.js").EnvironmentWatch} watch
 * @param {AbortSignal} signal
 */
export function showCreate(root, watch, signal) {
  const view = /** @type {DocumentFragment} */ (
    /** @type {HTMLTemplateElement} */ (document.getElementById("create-template")).content.cloneNode(true)
  );
  const form = /** @type {HTMLFormElement} */ (view.querySelector("[data-create-form]"));
  const error = /** @type {HTMLElement} */ (view.querySelector("[data-error]"));
  const chart = /** @type {HTMLSelectElement} */ (form.elements.namedItem("chartName"));
  const values = /** @type {HTMLTextAreaElement} */ (form.elements.namedItem("values"));
  const submit = /** @type {HTMLButtonElement} */ (form.querySelector("button[type=submit]"));

  async function loadDefaults() {
    if (!chart.value) return;
    values.value = "";
    values.disabled = true;
    try {
      const detail = await api.chart(chart.value);
      if (!signal.aborted) values.value = JSON.stringify(detail.defaultValues, null, 2);
    } catch (failure) {
      error.textContent = String(/** @type {any} */ (failure).message);
    } finally {
      values.disabled = false;
      form.dataset.ready = "true";
    }
  }

  async function loadCharts() {
    try {
      const charts = await api.charts();
      chart.replaceChildren(...charts.map((c) => el("option", `${c.name} ${c.version}`, { value: c.name })));
      await loadDefaults();
    } catch (failure) {
      error.textContent = String(/** @type {any} */ (failure).message);
    }
  }

  chart.addEventListener("change", loadDefaults);
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    error.textContent = "";
    let parsed;
    try {
      parsed = JSON.parse(values.value || "{}");
    } catch (failure) {
      error.textContent = `Values are not valid JSON: ${/** @type {any} */ (failure).message}`;
      values.focus();
      return;
    }
    const name = /** @type {HTMLInputElement} */ (form.elements.namedItem("name")).value.trim();
    submit.disabled = true;
    try {
      const created = await api.create({ name, chartName: chart.value, values: parsed });
      watch.upsert(created);
      location.hash = `#/environments/${created.id}`;
    } catch (failure) {
      error.textContent = String(/** @type {any} */ (failure).message);
    } finally {
      submit.disabled = false;
    }
  });

  root.replaceChildren(view);
  loadCharts();
}
