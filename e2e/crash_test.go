package e2e

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// buildServer builds the onair binary once per test run.
var buildServer = sync.OnceValues(func() (string, error) {
	dir, err := os.MkdirTemp("", "onair-bin-")
	if err != nil {
		return "", err
	}
	bin := filepath.Join(dir, "onair")
	out, err := exec.Command("go", "build", "-o", bin, "../cmd/onair").CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("go build: %v: %s", err, out)
	}
	return bin, nil
})

// child is `onair serve` running as its own process.
type child struct {
	cmd  *exec.Cmd
	base string
}

func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

func startChild(t *testing.T, bin, data string) *child {
	t.Helper()
	addr := freeAddr(t)
	cmd := exec.Command(bin, "serve", "--dev", "--http", addr, "--udp-port", "-1", "--data", data, "--log-level", "warn")
	var logs bytes.Buffer
	cmd.Stdout, cmd.Stderr = &logs, &logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	c := &child{cmd: cmd, base: "http://" + addr}
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			_ = cmd.Process.Kill()
			_ = cmd.Wait()
		}
		if t.Failed() {
			t.Logf("server output:\n%s", logs.String())
		}
	})
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err := http.Get(c.base + "/healthz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return c
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("the server did not answer /healthz within 30 s: %v\n%s", err, logs.String())
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func runCLI(t *testing.T, bin string, args ...string) string {
	t.Helper()
	out, err := exec.Command(bin, args...).CombinedOutput()
	if err != nil {
		t.Fatalf("onair %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

// The server is killed with SIGKILL under gift load and started again: every
// gift a client saw acknowledged is in the ledger (its retry is a replay of
// the same transaction), the balance is exactly what the committed gifts
// left, and `onair ledger verify` passes.
func TestGiftsSurviveSIGKILL(t *testing.T) {
	bin, err := buildServer()
	if err != nil {
		t.Fatal(err)
	}
	data := t.TempDir()
	password := func(out string) string {
		sc := bufio.NewScanner(strings.NewReader(out))
		for sc.Scan() {
			if v, ok := strings.CutPrefix(sc.Text(), "password: "); ok {
				return v
			}
		}
		t.Fatalf("no password in %q", out)
		return ""
	}
	adminPW := password(runCLI(t, bin, "admin", "create-user", "--name", "crashadmin", "--role", "admin", "--data", data))
	runCLI(t, bin, "admin", "create-user", "--name", "crashstar", "--role", "streamer", "--data", data)
	fanPW := password(runCLI(t, bin, "admin", "create-user", "--name", "crashfan", "--role", "viewer", "--data", data))

	srv := startChild(t, bin, data)
	n := &node{base: srv.base}
	admin, fan := login(t, n, "crashadmin", adminPW), login(t, n, "crashfan", fanPW)
	const coins = 1_000_000
	if status, out, _ := api(t, n, "POST", "/api/admin/users/crashfan/coins", admin, map[string]any{"coins": coins, "reason": "load", "idempotency_key": "crash-grant"}); status != 201 && status != 200 {
		t.Fatalf("grant: %d %v", status, out)
	}

	// 16 clients send roses (10 coins) as fast as they are answered.
	var mu sync.Mutex
	acked := map[string]string{} // idempotency key → transaction id
	ctx, stop := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	for w := range 16 {
		wg.Go(func() {
			for i := 0; ctx.Err() == nil; i++ {
				key := fmt.Sprintf("w%d-%d", w, i)
				status, out, _ := apiQuiet(n, "POST", "/api/rooms/crashstar/gifts", fan, map[string]any{"gift": "rose", "count": 1, "idempotency_key": key})
				if status == 201 {
					mu.Lock()
					acked[key] = fmt.Sprint(out["txn_id"])
					mu.Unlock()
				}
			}
		})
	}
	time.Sleep(1500 * time.Millisecond)
	if err := srv.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_ = srv.cmd.Wait()
	stop()
	wg.Wait()
	if len(acked) < 50 {
		t.Fatalf("only %d gifts acknowledged before the kill", len(acked))
	}
	t.Logf("%d gifts acknowledged before SIGKILL", len(acked))

	srv = startChild(t, bin, data)
	n = &node{base: srv.base}
	fan = login(t, n, "crashfan", fanPW)
	for key, txn := range acked {
		status, out, _ := api(t, n, "POST", "/api/rooms/crashstar/gifts", fan, map[string]any{"gift": "rose", "count": 1, "idempotency_key": key})
		if status != 200 || out["replayed"] != true || fmt.Sprint(out["txn_id"]) != txn {
			t.Fatalf("acknowledged gift %s (%s) after the restart: %d %v", key, txn, status, out)
		}
	}
	_, out, _ := api(t, n, "GET", "/api/wallet", fan, nil)
	spent := coins - int64(out["coins"].(float64))
	if spent%10 != 0 || spent/10 < int64(len(acked)) {
		t.Fatalf("the fan spent %d coins, but %d roses were acknowledged", spent, len(acked))
	}
	t.Logf("%d roses committed (%d acknowledged, the rest were in flight)", spent/10, len(acked))
	// The leaderboards (in memory) were rebuilt from the ledger at start.
	_, out, _ = api(t, n, "GET", "/api/rooms/crashstar/leaderboard?period=all", "", nil)
	if es, _ := out["entries"].([]any); len(es) != 1 || int64(es[0].(map[string]any)["score"].(float64)) != spent {
		t.Fatalf("the room's all-time board after the restart: %v, want crashfan with %d", out, spent)
	}
	if report := runCLI(t, bin, "ledger", "verify", "--data", data); !strings.Contains(report, "ledger OK") {
		t.Fatalf("ledger verify: %s", report)
	}
}
