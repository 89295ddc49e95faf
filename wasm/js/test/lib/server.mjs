// A small static file server on 127.0.0.1 for the browser tests: serves
// the repository's files under a few prefixes (read-only, no directory
// listings, no path outside the prefix), named extra files (e.g. the
// module under test at /module/edgeflag.wasm), and routes a test adds to
// answer — or hold — requests itself. Started and stopped by the test.
import http from "node:http";
import { readFile } from "node:fs/promises";
import path from "node:path";
import { root } from "./paths.mjs";

const TYPES = { ".html": "text/html; charset=utf-8", ".mjs": "text/javascript", ".js": "text/javascript",
  ".json": "application/json", ".wasm": "application/wasm", ".jws": "application/jose", ".ndjson": "application/x-ndjson",
  ".css": "text/css", ".ico": "image/x-icon" };

const PREFIXES = ["wasm/js/", "wasm/dist/", "bundle/conformance/testdata/"];

/**
 * startServer starts the server. files maps URL paths to file paths;
 * routes maps URL paths (without the query) to handlers (req, res, url);
 * handle(req, res, url), if given, is asked first and returns true when it
 * answered.
 * Resolves to {url, server, requests, close()}; requests lists every
 * request path received, in order.
 */
export async function startServer({ files = {}, routes = {}, handle } = {}) {
  const requests = [];
  const server = http.createServer(async (req, res) => {
    const url = new URL(req.url, "http://127.0.0.1");
    requests.push(url.pathname + url.search);
    try {
      if (handle && (await handle(req, res, url))) return;
      if (routes[url.pathname]) return await routes[url.pathname](req, res, url);
      let file = files[url.pathname];
      if (!file) {
        const rel = decodeURIComponent(url.pathname).replace(/^\/+/, "");
        const norm = path.posix.normalize(rel);
        if (norm !== rel || !PREFIXES.some((p) => norm.startsWith(p)) || norm.includes("node_modules")) {
          res.writeHead(404).end();
          return;
        }
        file = path.join(root, norm);
      }
      const body = await readFile(file);
      res.writeHead(200, { "content-type": TYPES[path.extname(file)] ?? "application/octet-stream", "cache-control": "no-store" });
      res.end(body);
    } catch (e) {
      if (!res.headersSent) res.writeHead(e.code === "ENOENT" || e.code === "EISDIR" ? 404 : 500);
      res.end();
    }
  });
  await new Promise((resolve, reject) => server.listen(0, "127.0.0.1", resolve).on("error", reject));
  const sockets = new Set();
  server.on("connection", (s) => { sockets.add(s); s.on("close", () => sockets.delete(s)); });
  return {
    url: `http://127.0.0.1:${server.address().port}`,
    server,
    requests,
    close: () => new Promise((resolve) => {
      for (const s of sockets) s.destroy();
      server.close(() => resolve());
    }),
  };
}
