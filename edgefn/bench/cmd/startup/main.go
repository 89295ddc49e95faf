// Command startup measures a server's cold start and memory: it starts
// the command, POSTs one OFREP request in a tight loop until the answer
// is 200 and holds -want (time from process start to that first answer),
// reads the process's VmRSS and VmHWM, optionally sends more requests and
// reads them again, kills the process and starts over, -runs times.
//
//	startup -runs 30 -url http://127.0.0.1:8090/ofrep/v1/evaluate/flags/f2 \
//	    -header 'X-API-Key: efk_...' -want '"value":"senior"' -- edgefn serve ... --addr 127.0.0.1:8090
//
// The command must listen where -url points; a port is reused from run
// to run (Go servers set SO_REUSEADDR).
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"
)

type headers []string

func (h *headers) String() string     { return strings.Join(*h, ", ") }
func (h *headers) Set(v string) error { *h = append(*h, v); return nil }

func main() {
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintf(os.Stderr, "startup: %v\n", err)
		os.Exit(1)
	}
}

type sample struct {
	first          time.Duration
	rss, hwm       int64 // kB, after the first answer
	rssAfter, hwmA int64 // kB, after -after requests
}

func run(args []string) error {
	fs := flag.NewFlagSet("startup", flag.ContinueOnError)
	runs := fs.Int("runs", 20, "number of starts")
	url := fs.String("url", "", "OFREP `URL` to POST")
	body := fs.String("body", `{"context":{"targetingKey":"user-123","email":"bob@other.org","country":"FR","plan":"free","age":42}}`, "request `body`")
	want := fs.String("want", "", "the first answer must contain this `text`")
	after := fs.Int("after", 0, "requests to send after the first answer before measuring memory again")
	afterURL := fs.String("after-url", "", "`URL` for the -after requests (default -url)")
	timeout := fs.Duration("timeout", 30*time.Second, "give up on a start after this long")
	var hs headers
	fs.Var(&hs, "header", "request `header` (Name: value), repeatable")
	if err := fs.Parse(args); err != nil {
		return err
	}
	cmd := fs.Args()
	if *url == "" || len(cmd) == 0 || *runs < 1 {
		return errors.New("usage: startup -url URL [-header H]... [-want TEXT] [-runs N] [-after N] -- COMMAND [ARGS...]")
	}
	if *afterURL == "" {
		*afterURL = *url
	}
	client := &http.Client{Transport: &http.Transport{DialContext: (&net.Dialer{Timeout: time.Second}).DialContext,
		MaxIdleConnsPerHost: 1}, Timeout: 10 * time.Second}
	post := func(u string) (int, string, error) {
		req, err := http.NewRequest("POST", u, strings.NewReader(*body))
		if err != nil {
			return 0, "", err
		}
		req.Header.Set("Content-Type", "application/json")
		for _, h := range hs {
			k, v, _ := strings.Cut(h, ":")
			req.Header.Set(strings.TrimSpace(k), strings.TrimSpace(v))
		}
		resp, err := client.Do(req)
		if err != nil {
			return 0, "", err
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b), err
	}
	var samples []sample
	for i := 0; i < *runs; i++ {
		s, err := once(cmd, *timeout, func() (bool, error) {
			code, b, err := post(*url)
			if err != nil {
				return false, nil // not listening yet
			}
			return code == 200 && strings.Contains(b, *want), nil
		}, *after, func() error {
			code, b, err := post(*afterURL)
			if err == nil && code != 200 {
				err = fmt.Errorf("answer %d: %.200s", code, b)
			}
			return err
		})
		if err != nil {
			return fmt.Errorf("run %d: %w", i+1, err)
		}
		client.CloseIdleConnections()
		fmt.Fprintf(os.Stderr, "run %d: first answer %.2f ms, VmRSS %d kB, VmHWM %d kB", i+1, ms(s.first), s.rss, s.hwm)
		if *after > 0 {
			fmt.Fprintf(os.Stderr, "; after %d requests VmRSS %d kB, VmHWM %d kB", *after, s.rssAfter, s.hwmA)
		}
		fmt.Fprintln(os.Stderr)
		samples = append(samples, s)
	}
	firsts := make([]float64, len(samples))
	var rss, hwm, rssA, hwmA []float64
	for i, s := range samples {
		firsts[i] = ms(s.first)
		rss, hwm = append(rss, float64(s.rss)), append(hwm, float64(s.hwm))
		rssA, hwmA = append(rssA, float64(s.rssAfter)), append(hwmA, float64(s.hwmA))
	}
	sort.Float64s(firsts)
	fmt.Printf("%d runs: first answer median %.2f ms (min %.2f, p90 %.2f, max %.2f); VmRSS median %.1f MB, VmHWM median %.1f MB",
		len(samples), median(firsts), firsts[0], firsts[len(firsts)*9/10], firsts[len(firsts)-1], median(rss)/1024, median(hwm)/1024)
	if *after > 0 {
		fmt.Printf("; after %d requests VmRSS median %.1f MB, VmHWM median %.1f MB", *after, median(rssA)/1024, median(hwmA)/1024)
	}
	fmt.Println()
	return nil
}

// once starts cmd, polls ready until it reports the first good answer,
// measures, sends after requests, measures again, and kills the process.
func once(cmd []string, timeout time.Duration, ready func() (bool, error), after int, extra func() error) (sample, error) {
	var s sample
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	c := exec.Command(cmd[0], cmd[1:]...)
	c.Stdout, c.Stderr = io.Discard, io.Discard
	exited := make(chan error, 1)
	start := time.Now()
	if err := c.Start(); err != nil {
		return s, err
	}
	go func() { exited <- c.Wait() }()
	defer func() {
		_ = c.Process.Signal(syscall.SIGKILL)
		<-exited
	}()
	for {
		ok, err := ready()
		if err != nil {
			return s, err
		}
		if ok {
			s.first = time.Since(start)
			break
		}
		select {
		case err := <-exited:
			exited <- err
			return s, fmt.Errorf("the server exited before answering: %v", err)
		case <-ctx.Done():
			return s, fmt.Errorf("no good answer within %v", timeout)
		case <-time.After(200 * time.Microsecond):
		}
	}
	var err error
	if s.rss, s.hwm, err = memory(c.Process.Pid); err != nil {
		return s, err
	}
	for i := 0; i < after; i++ {
		if err := extra(); err != nil {
			return s, fmt.Errorf("request %d after the first: %w", i+1, err)
		}
	}
	if after > 0 {
		if s.rssAfter, s.hwmA, err = memory(c.Process.Pid); err != nil {
			return s, err
		}
	}
	return s, nil
}

// memory reads VmRSS and VmHWM (kB) of pid.
func memory(pid int) (rss, hwm int64, err error) {
	data, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		return 0, 0, err
	}
	for _, line := range strings.Split(string(data), "\n") {
		f := strings.Fields(line)
		if len(f) < 2 {
			continue
		}
		switch f[0] {
		case "VmRSS:":
			rss, _ = strconv.ParseInt(f[1], 10, 64)
		case "VmHWM:":
			hwm, _ = strconv.ParseInt(f[1], 10, 64)
		}
	}
	return rss, hwm, nil
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

func median(v []float64) float64 {
	s := append([]float64(nil), v...)
	sort.Float64s(s)
	n := len(s)
	if n%2 == 1 {
		return s[n/2]
	}
	return (s[n/2-1] + s[n/2]) / 2
}
