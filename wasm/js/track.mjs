// Exposure and tracking events, batched to POST /v1/track (docs/api.md):
// a bounded queue (the oldest event goes when it is full), batches of at
// most maxBatch events, retried with backoff while edgefn or the network
// fails (each event keeps its id, so a retried batch is stored once).

import { EdgeflagError } from "./errors.mjs";

const MAX_EVENTS_PER_REQUEST = 1000; // edgefn's limit
const KEEPALIVE_BYTES = 60000; // browsers cap keepalive bodies at 64 KiB

/** eventId is a random 128-bit id in hex (works outside secure contexts too). */
export function eventId() {
  const b = crypto.getRandomValues(new Uint8Array(16));
  let s = "";
  for (const x of b) s += x.toString(16).padStart(2, "0");
  return s;
}

/**
 * EventQueue sends events in batches. send(body, {keepalive}) performs
 * the request and resolves to the Response; it is the client's, which
 * adds the URL and credentials.
 */
export class EventQueue {
  constructor({ send, maxBatch = 100, maxQueue = 1000, flushSeconds = 5, onError, setTimer, clearTimer } = {}) {
    if (!(maxBatch >= 1 && maxBatch <= MAX_EVENTS_PER_REQUEST)) throw new EdgeflagError("ErrArgument", `track.maxBatch must be 1-${MAX_EVENTS_PER_REQUEST}`);
    if (!(maxQueue >= maxBatch)) throw new EdgeflagError("ErrArgument", "track.maxQueue must be at least track.maxBatch");
    this.send = send;
    this.maxBatch = maxBatch;
    this.maxQueue = maxQueue;
    this.flushMs = flushSeconds * 1000;
    this.onError = onError ?? (() => {});
    this.setTimer = setTimer ?? ((fn, ms) => { const t = setTimeout(fn, ms); t.unref?.(); return t; });
    this.clearTimer = clearTimer ?? clearTimeout;
    this.queue = [];
    this.timer = null;
    this.sending = null;
    this.failures = 0;
    this.disabled = false;
    /** Counters: events sent and accepted, duplicates, rejected by edgefn, dropped here. */
    this.stats = { sent: 0, accepted: 0, duplicates: 0, rejected: 0, dropped: 0, requests: 0 };
  }

  /** push queues one event (an object in the shape of docs/api.md). */
  push(event) {
    if (this.disabled) {
      this.stats.dropped++;
      return;
    }
    this.queue.push(event);
    while (this.queue.length > this.maxQueue) {
      this.queue.shift();
      this.stats.dropped++;
    }
    if (this.queue.length >= this.maxBatch && this.failures === 0) this.flush();
    else this.schedule(this.flushMs);
  }

  schedule(ms) {
    if (this.timer !== null || this.closed) return;
    this.timer = this.setTimer(() => {
      this.timer = null;
      this.flush();
    }, ms);
  }

  /** flush sends what is queued; resolves when the queue is empty or a send failed (it is retried later). */
  flush(opts = {}) {
    if (this.sending) return this.sending.then(() => (this.queue.length && this.failures === 0 ? this.flush(opts) : undefined));
    if (this.timer !== null) {
      this.clearTimer(this.timer);
      this.timer = null;
    }
    this.sending = this.drain(opts).finally(() => { this.sending = null; });
    return this.sending;
  }

  async drain({ keepalive = false } = {}) {
    while (this.queue.length && !this.disabled) {
      let batch = this.queue.slice(0, this.maxBatch);
      let body = JSON.stringify({ events: batch });
      if (keepalive) {
        while (batch.length > 1 && body.length > KEEPALIVE_BYTES) {
          batch = batch.slice(0, Math.ceil(batch.length / 2));
          body = JSON.stringify({ events: batch });
        }
      }
      let res;
      try {
        this.stats.requests++;
        res = await this.send(body, { keepalive });
      } catch (e) {
        this.retry(null, new EdgeflagError("ErrFetch", `track: ${e.message}`, { cause: e }));
        return;
      }
      if (res.status === 202 || res.status === 200) {
        const n = batch.length;
        this.queue.splice(0, n);
        this.failures = 0;
        this.stats.sent += n;
        let answer = {};
        try {
          answer = await res.json();
        } catch {
          // An answer without the counts still means accepted.
        }
        this.stats.accepted += answer.accepted ?? 0;
        this.stats.duplicates += answer.duplicates ?? 0;
        for (const r of answer.rejected ?? []) {
          this.stats.rejected++;
          this.onError(new EdgeflagError("ErrTrack", `event ${JSON.stringify(batch[r.index]?.id)} rejected: ${r.error}`));
        }
        continue;
      }
      const detail = await res.text().catch(() => "");
      const err = new EdgeflagError("ErrHTTP", `track: HTTP ${res.status} ${detail.slice(0, 200)}`);
      err.status = res.status;
      if (res.status === 401 || res.status === 408 || res.status === 429 || (res.status >= 500 && res.status !== 501)) {
        this.retry(res, err);
        return;
      }
      // The request itself is wrong (400, 403, 413) or tracking is off
      // (501): sending it again cannot help.
      this.queue.splice(0, batch.length);
      this.stats.dropped += batch.length;
      if (res.status === 501) this.disabled = true;
      this.onError(err);
    }
  }

  retry(res, err) {
    this.failures++;
    const after = Number(res?.headers?.get?.("retry-after"));
    const ms = Number.isFinite(after) && after >= 0 ? after * 1000 : Math.min(60000, 1000 * 2 ** (this.failures - 1));
    this.onError(err);
    this.retryAt = ms;
    this.schedule(ms);
  }

  /** close flushes once more and stops the timer. */
  async close() {
    await this.flush().catch(() => {});
    this.closed = true;
    if (this.timer !== null) this.clearTimer(this.timer);
    this.timer = null;
  }
}
