// The environments the signed-in token sees, kept in step with the watch stream
// (GET /api/environments?watch=1) without polling.
//
// Guarantees: after SYNCED, `environments` holds exactly what the server listed plus every
// change since; a broken or ended stream is resumed with Last-Event-ID, at once after a
// stream that lasted (the server's watch timeout), otherwise after a backoff (0.5 s doubling
// to 15 s), and the state is "reconnecting" meanwhile; EXPIRED (the resume point is gone) starts over with a fresh list, which
// replaces the old one at its SYNCED so deleted environments missed meanwhile disappear.
// A 401 stops the watch and reports "unauthorized" (the token was revoked). `stale` is the
// watcher's own freshness flag as the latest event or heartbeat carried it (heartbeats,
// ": ping watcher=fresh|stale", come every few seconds even when nothing changes).

import { authHeaders, errorOf } from "./api.js";
import { readEvents } from "./sse.js";

const FIRST_DELAY_MS = 500;
const MAX_DELAY_MS = 15000;
const MIN_HEALTHY_MS = 5000;

/** @typedef {"connecting" | "live" | "reconnecting" | "unauthorized" | "stopped"} WatchState */

export class EnvironmentWatch extends EventTarget {
  constructor() {
    super();
    /** @type {Map<number, any>} */
    this.environments = new Map();
    /** @type {WatchState} */
    this.state = "connecting";
    this.synced = false;
    this.stale = false;
    /** @type {string | null} */
    this.lastEventId = null;
    this.error = "";
    /** @type {AbortController | null} */
    this._abort = null;
    this._delay = FIRST_DELAY_MS;
    this._running = false;
  }

  start() {
    if (this._running) return;
    this._running = true;
    this._loop();
  }

  stop() {
    this._running = false;
    this._abort?.abort();
    this._setState("stopped");
  }

  /** @param {number} id */
  get(id) {
    return this.environments.get(id);
  }

  /** Apply an environment the page itself just received (a create or delete answer). */
  upsert(environment) {
    this.environments.set(environment.id, environment);
    this._changed([environment.id]);
  }

  async _loop() {
    while (this._running) {
      const abort = new AbortController();
      this._abort = abort;
      const started = Date.now();
      this.error = "";
      try {
        const headers = authHeaders({ Accept: "text/event-stream" });
        if (this.lastEventId !== null) headers["Last-Event-ID"] = this.lastEventId;
        const response = await fetch("/api/environments?watch=1", { headers, signal: abort.signal, cache: "no-store" });
        if (response.status === 401) {
          this.error = (await errorOf(response)).message;
          this._running = false;
          this._setState("unauthorized");
          return;
        }
        if (!response.ok) throw await errorOf(response);
        /** @type {Map<number, any> | null} */
        let fresh = this.lastEventId === null ? new Map() : null;
        this._setState(fresh ? "connecting" : "live");
        await readEvents(
          response,
          (event) => {
            fresh = this._apply(event, fresh);
          },
          (comment) => this._heartbeat(comment),
        );
      } catch (error) {
        if (!this._running) return;
        this.error = String(error?.message ?? error);
      }
      if (!this._running) return;
      this._setState("reconnecting");
      // The server ends a long watch after its timeout: resume at once. A failure, or a
      // stream that ended quickly, backs off (doubling) so a sick server is not hammered.
      if (Date.now() - started >= MIN_HEALTHY_MS) {
        this._delay = FIRST_DELAY_MS;
        continue;
      }
      await new Promise((resolve) => setTimeout(resolve, this._delay));
      this._delay = Math.min(this._delay * 2, MAX_DELAY_MS);
    }
  }

  /**
   * @param {import("./sse.js").SseEvent} event
   * @param {Map<number, any> | null} fresh the list being built before SYNCED, if any
   * @returns {Map<number, any> | null}
   */
  _apply(event, fresh) {
    if (event.event === "EXPIRED") {
      this.lastEventId = null; // the server closes the stream: reconnect for a fresh list
      return fresh;
    }
    if (event.id !== null) this.lastEventId = event.id;
    if (event.event === "SYNCED") {
      if (fresh) {
        this.environments = fresh;
        this.synced = true;
      }
      this._setState("live");
      this._changed(null);
      return null;
    }
    const environment = JSON.parse(event.data);
    if (typeof environment.stale === "boolean") this._setStale(environment.stale);
    if (fresh) {
      if (event.event !== "DELETED") fresh.set(environment.id, environment);
      return fresh;
    }
    if (event.event === "DELETED") this.environments.delete(environment.id);
    else this.environments.set(environment.id, environment);
    this._changed([environment.id]);
    return null;
  }

  /** @param {string} comment a heartbeat: "ping watcher=fresh" or "ping watcher=stale" */
  _heartbeat(comment) {
    const match = /\bwatcher=(fresh|stale)\b/.exec(comment);
    if (match) this._setStale(match[1] === "stale");
  }

  /** @param {boolean} stale */
  _setStale(stale) {
    if (stale === this.stale) return;
    this.stale = stale;
    this.dispatchEvent(new Event("state"));
  }

  /** @param {WatchState} state */
  _setState(state) {
    if (state === this.state) return;
    this.state = state;
    this.dispatchEvent(new Event("state"));
  }

  /** @param {number[] | null} ids the changed environments (null: all of them) */
  _changed(ids) {
    this.dispatchEvent(new CustomEvent("change", { detail: ids }));
  }
}
