// Command trivial is the load test's ceiling: a net/http server that
// answers every request with one fixed OFREP-shaped body, doing nothing
// else (no routing, auth, decoding, evaluation, logging or metrics).
//
//	trivial -addr 127.0.0.1:8082
package main

import (
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"time"
)

// body is what edgefn answers for f2 and the load test's context.
var body = []byte(`{"key":"f2","value":"senior","reason":"TARGETING_MATCH","variant":"senior","metadata":{"ruleId":"r-senior","version":1}}` + "\n")

func main() {
	addr := flag.String("addr", "127.0.0.1:8082", "listen `address`")
	flag.Parse()
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(body)
	})
	srv := &http.Server{Addr: *addr, Handler: h, ReadHeaderTimeout: 10 * time.Second}
	if err := srv.ListenAndServe(); err != nil {
		fmt.Fprintf(os.Stderr, "trivial: %v\n", err)
		os.Exit(1)
	}
}
