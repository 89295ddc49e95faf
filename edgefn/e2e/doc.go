// Package e2e runs the official OpenFeature OFREP clients, unmodified,
// against a real `edgefn serve`: npm @openfeature/ofrep-provider with
// @openfeature/server-sdk in Node (server.test.mjs) and
// @openfeature/ofrep-web-provider with @openfeature/web-sdk in headless
// Chromium (web.test.mjs, the page in web/). The Go tests (build tag e2e,
// `make e2e`) start edgefn on the flags of testdata/flags, put a
// validating reverse proxy in front of it that checks every OFREP
// response against the OFREP spec (edgefn/testdata) and turns a violation
// into a 502 and a test failure, serve the page from 127.0.0.1, and run
// `node --test`. The npm packages are pinned in package-lock.json
// (`npm ci`, which make e2e runs when node_modules is missing).
package e2e
