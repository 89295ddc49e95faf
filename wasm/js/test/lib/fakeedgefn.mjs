// A fake edgefn for the client's unit tests: GET /v1/bootstrap (bundle and
// values modes, ETag/If-None-Match, bearer token), GET /v1/stream (SSE in
// edgefn's shape, or 501 as in Lambda) and POST /v1/track (the events
// contract of docs/api.md: 202 {accepted, duplicates, rejected}, dedup by
// unit and id), each answer scriptable. The real edgefn is used by
// edgefn.test.mjs.
import http from "node:http";
import { createHash } from "node:crypto";

export async function fakeEdgefn({ token = "tok-1", stream = true } = {}) {
  const f = {
    bundle: null, version: 0, etag: null, values: null, valuesEtag: null,
    requests: [], events: [], seen: new Set(), trackReplies: [], streams: new Set(), token, stream,
    bootstrapStatus: null,
  };
  const server = http.createServer(async (req, res) => {
    const url = new URL(req.url, "http://127.0.0.1");
    const entry = { method: req.method, path: url.pathname, query: url.search, auth: req.headers.authorization,
      ifNoneMatch: req.headers["if-none-match"] };
    f.requests.push(entry);
    const authed = req.headers.authorization === `Bearer ${f.token}`;
    if (!authed) {
      res.writeHead(401, { "content-type": "application/json" }).end('{"error":"unauthorized","message":"bad token"}');
      return;
    }
    if (url.pathname === "/v1/bootstrap" && req.method === "GET") {
      if (f.bootstrapStatus) {
        res.writeHead(f.bootstrapStatus, { "content-type": "application/json" }).end('{"error":"x","message":"scripted"}');
        return;
      }
      const values = url.searchParams.get("mode") === "values";
      const body = values ? f.values : f.bundle;
      const etag = values ? f.valuesEtag : f.etag;
      if (!body) {
        res.writeHead(503).end();
        return;
      }
      if (req.headers["if-none-match"] === etag) {
        res.writeHead(304, { etag }).end();
        return;
      }
      res.writeHead(200, { "content-type": "application/jose", etag, "x-edgeflag-version": String(f.version) }).end(Buffer.from(body));
      return;
    }
    if (url.pathname === "/v1/stream" && req.method === "GET") {
      if (!f.stream) {
        res.writeHead(501, { "content-type": "application/json" }).end('{"error":"not_implemented","message":"no streams in Lambda"}');
        return;
      }
      res.writeHead(200, { "content-type": "text/event-stream", "cache-control": "no-store" });
      res.flushHeaders();
      const s = { res };
      f.streams.add(s);
      req.on("close", () => f.streams.delete(s));
      if (f.etag) send(s);
      return;
    }
    if (url.pathname === "/v1/track" && req.method === "POST") {
      const chunks = [];
      for await (const c of req) chunks.push(c);
      const body = JSON.parse(Buffer.concat(chunks).toString("utf8"));
      entry.body = body;
      const scripted = f.trackReplies.shift();
      if (scripted) {
        res.writeHead(scripted.status, { "content-type": "application/json", ...(scripted.headers ?? {}) }).end(scripted.body ?? "{}");
        return;
      }
      let accepted = 0, duplicates = 0;
      const rejected = [];
      body.events.forEach((e, index) => {
        if (!["exposure", "conversion", "custom"].includes(e.type)) {
          rejected.push({ index, error: `type: ${JSON.stringify(e.type)} is not exposure, conversion or custom` });
          return;
        }
        const k = `${e.unit ?? "subject"}\u0000${e.id}`;
        if (f.seen.has(k)) duplicates++;
        else {
          f.seen.add(k);
          f.events.push(e);
          accepted++;
        }
      });
      res.writeHead(202, { "content-type": "application/json" }).end(JSON.stringify({ accepted, duplicates, rejected }));
      return;
    }
    res.writeHead(404).end();
  });
  function send(s) {
    s.res.write(`id: ${f.version}\nevent: message\ndata: ${JSON.stringify({ type: "refetchEvaluation", version: f.version, etag: f.etag, lastModified: 0 })}\n\n`);
  }
  await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
  const sockets = new Set();
  server.on("connection", (s) => { sockets.add(s); s.on("close", () => sockets.delete(s)); });
  f.url = `http://127.0.0.1:${server.address().port}`;
  f.bootstrapUrl = f.url + "/v1/bootstrap";
  /** publish serves bundle as version and tells the open streams. */
  f.publish = (bundle, version) => {
    f.bundle = bundle;
    f.version = version;
    f.etag = `"${createHash("sha256").update(bundle).digest("hex")}"`;
    for (const s of f.streams) send(s);
  };
  f.setValues = (text) => {
    f.values = text;
    f.valuesEtag = `"v-${createHash("sha256").update(text).digest("hex").slice(0, 32)}"`;
  };
  f.count = (p) => f.requests.filter((r) => r.path === p).length;
  f.close = () => new Promise((resolve) => {
    for (const s of f.streams) s.res.end();
    for (const s of sockets) s.destroy();
    server.close(() => resolve());
  });
  return f;
}

/** until polls cond every 10 ms until it holds or ms pass. */
export async function until(cond, ms = 10000, what = "condition") {
  const end = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}
