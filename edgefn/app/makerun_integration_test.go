//go:build integration

package app_test

import (
	"bufio"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestMakeRun runs `make run` as a user would (fresh dev directory, any
// free port), runs every curl line it prints, checks the answers, then
// stops it with Ctrl-C (SIGINT to its process group) and checks that it
// stops cleanly and leaves no server behind.
func TestMakeRun(t *testing.T) {
	if _, err := exec.LookPath("curl"); err != nil {
		t.Fatal("curl is required (CI installs it)")
	}
	dev := filepath.Join(t.TempDir(), "dev")
	cmd := exec.Command("make", "run", "DEV="+dev, "ADDR=127.0.0.1:0")
	cmd.Dir = "../.."
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	killed := false
	t.Cleanup(func() {
		if !killed {
			syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
			cmd.Wait()
		}
	})
	var curls, all []string
	sc := bufio.NewScanner(out)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	lines := make(chan string)
	go func() {
		for sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
	}()
	timeout := time.After(4 * time.Minute) // a cold build is most of it
wait:
	for {
		select {
		case l, ok := <-lines:
			if !ok {
				t.Fatalf("make run ended early:\n%s", strings.Join(all, "\n"))
			}
			all = append(all, l)
			if strings.HasPrefix(l, "curl ") {
				curls = append(curls, l)
			}
			if strings.HasPrefix(l, "Press Ctrl-C") {
				break wait
			}
		case <-timeout:
			t.Fatalf("make run printed no curl lines in time:\n%s", strings.Join(all, "\n"))
		}
	}
	if len(curls) != 6 {
		t.Fatalf("%d curl lines:\n%s", len(curls), strings.Join(all, "\n"))
	}
	for i, c := range curls {
		res, err := exec.Command("bash", "-c", c+" -w '\\n%{http_code}'").Output()
		if err != nil {
			t.Fatalf("curl line %d failed: %v\n%s", i, err, c)
		}
		text := strings.TrimSpace(string(res))
		nl := strings.LastIndex(text, "\n")
		body, code := text[:nl], text[nl+1:]
		if code != "200" {
			t.Fatalf("curl line %d answered %s: %s\n%s", i, code, body, c)
		}
		switch {
		case strings.Contains(c, "/v1/bootstrap"):
			if strings.Count(body, ".") != 2 {
				t.Errorf("curl line %d: not a compact JWS: %.80s", i, body)
			}
		default:
			var m map[string]any
			if err := json.Unmarshal([]byte(body), &m); err != nil {
				t.Errorf("curl line %d: not JSON: %v: %.200s", i, err, body)
			}
			if strings.Contains(c, "flags/new-checkout") && m["value"] != true {
				t.Errorf("curl line %d: new-checkout for ana@example.com: %s", i, body)
			}
			if strings.Contains(c, "/v1/tokens") && m["token"] == nil {
				t.Errorf("curl line %d: no token: %s", i, body)
			}
		}
	}
	// Ctrl-C: SIGINT to the foreground process group.
	if err := syscall.Kill(-cmd.Process.Pid, syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() {
		for range lines {
		}
		done <- cmd.Wait()
	}()
	select {
	case <-done:
		killed = true
	case <-time.After(20 * time.Second):
		t.Fatal("make run did not stop within 20s of Ctrl-C")
	}
	log, _ := os.ReadFile(filepath.Join(dev, "edgefn.log"))
	if !strings.Contains(string(log), `"msg":"stopped"`) {
		t.Fatalf("edgefn did not shut down cleanly:\n%s", log)
	}
}
