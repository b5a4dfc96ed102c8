// The dashboard's entry point: sign-in and sign-out, the hash router (#/, #/new,
// #/environments/<id>) and the header's live state (the watch stream's connection and the
// watcher's staleness). One EnvironmentWatch runs while signed in; each page gets an
// AbortSignal that ends its listeners and streams when another page replaces it.

import { api, signIn, signOut, token } from "./api.js";
import { showCreate } from "./create.js";
import { showDetail } from "./detail.js";
import { showList } from "./list.js";
import { EnvironmentWatch } from "./watch.js";

const main = /** @type {HTMLElement} */ (document.getElementById("main"));
const streamState = /** @type {HTMLElement} */ (document.getElementById("stream-state"));
const staleBanner = /** @type {HTMLElement} */ (document.getElementById("stale-banner"));

/** @type {EnvironmentWatch | null} */
let watch = null;
/** @type {AbortController | null} */
let page = null;

const STATE_TEXT = {
  connecting: "Connecting…",
  live: "Live",
  reconnecting: "Reconnecting…",
  unauthorized: "Signed out: the token was refused",
  stopped: "",
};

function showState() {
  if (!watch) return;
  streamState.hidden = false;
  streamState.textContent = STATE_TEXT[watch.state];
  streamState.dataset.state = watch.state;
  staleBanner.hidden = !watch.stale;
  staleBanner.textContent = watch.stale
    ? "The watcher's data is stale: statuses may be out of date until it catches up with the cluster."
    : "";
  if (watch.state === "unauthorized") endSession(watch.error);
}

/** @param {boolean} signedIn */
function showSignedIn(signedIn) {
  for (const node of document.querySelectorAll("[data-signed-in]")) {
    /** @type {HTMLElement} */ (node).hidden = !signedIn;
  }
}

function startSession() {
  showSignedIn(true);
  watch = new EnvironmentWatch();
  watch.addEventListener("state", showState);
  watch.start();
  showState();
}

/** @param {string} [reason] */
function endSession(reason) {
  signOut();
  watch?.stop();
  watch = null;
  streamState.hidden = true;
  staleBanner.hidden = true;
  showSignedIn(false);
  route(reason);
}

/** @param {string} [message] */
function showSignIn(message) {
  const view = /** @type {DocumentFragment} */ (
    /** @type {HTMLTemplateElement} */ (document.getElementById("sign-in-template")).content.cloneNode(true)
  );
  const form = /** @type {HTMLFormElement} */ (view.querySelector("#sign-in-form"));
  const error = /** @type {HTMLElement} */ (view.querySelector("[data-error]"));
  const input = /** @type {HTMLInputElement} */ (view.querySelector("#token"));
  if (message) error.textContent = message;
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    signIn(input.value.trim());
    try {
      await api.charts(); // any authenticated call proves the token
    } catch (failure) {
      signOut();
      error.textContent = String(/** @type {any} */ (failure).message);
      return;
    }
    input.value = "";
    startSession();
    route();
  });
  main.replaceChildren(view);
  document.title = "Sign in – Catalyst";
  input.focus();
}

/** @param {string} [message] shown on the sign-in form */
function route(message) {
  page?.abort();
  page = new AbortController();
  if (!token() || !watch) {
    showSignIn(message);
    return;
  }
  const path = location.hash.replace(/^#/, "").split("?")[0] || "/";
  const detail = path.match(/^\/environments\/(\d+)$/);
  if (detail) {
    showDetail(main, Number(detail[1]), watch, page.signal);
  } else if (path === "/new") {
    document.title = "New environment – Catalyst";
    showCreate(main, watch, page.signal);
  } else {
    document.title = "Environments – Catalyst";
    showList(main, watch, page.signal);
  }
}

document.getElementById("sign-out")?.addEventListener("click", () => endSession());
window.addEventListener("hashchange", () => {
  route();
  main.focus({ preventScroll: true });
});
if (token()) startSession();
route();
