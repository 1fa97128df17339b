package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/onair-live/onair/cmd/onair/app"
)

// startServer runs "onair serve --dev" in this process on free loopback ports
// and returns its base URL, read from what serve prints.
func startServer(t *testing.T) string {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	out, w := io.Pipe()
	done := make(chan int, 1)
	go func() {
		done <- app.Main(ctx, []string{"serve", "--dev", "--http", "127.0.0.1:0", "--udp-port", "-1", "--data", t.TempDir(),
			"--log-level", "error"}, func(string) string { return "" }, w, io.Discard)
		_ = w.Close()
	}()
	t.Cleanup(func() {
		cancel()
		select {
		case code := <-done:
			if code != 0 {
				t.Errorf("server exited %d", code)
			}
		case <-time.After(15 * time.Second):
			t.Errorf("server did not stop within 15 s")
		}
	})
	line, err := bufio.NewReader(out).ReadString('\n')
	go func() { _, _ = io.Copy(io.Discard, out) }()
	base, ok := strings.CutPrefix(strings.TrimSpace(line), "onair is live on ")
	if err != nil || !ok {
		t.Fatalf("server said %q, %v", line, err)
	}
	return base
}

func TestParseBenchChat(t *testing.T) {
	c, err := parseBenchChat(nil, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if c.URL != defaultURL || c.Room != "bench" || c.Conns != 1000 || c.Rate != 100 || c.Duration != 20*time.Second ||
		c.Senders != 100 || c.DialRate != 500 || c.Metrics != "" || c.JSON || c.Messages() != 2000 {
		t.Errorf("defaults: %+v", c)
	}
	c, err = parseBenchChat([]string{"--url", "http://localhost:9000", "--conns", "50", "--rate", "2.5", "--duration", "2s",
		"--token", "a,b", "--token", "c", "--metrics", "http://localhost:9000/metrics", "--json"}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if c.Conns != 50 || c.Rate != 2.5 || !slices.Equal(c.Tokens, []string{"a", "b", "c"}) || c.Senders != 3 || c.Messages() != 5 || !c.JSON {
		t.Errorf("parsed: %+v", c)
	}
	if c, _ := parseBenchChat([]string{"--rate", "7.2", "--senders", "2"}, io.Discard); c.Senders != 2 {
		t.Errorf("--senders 2 gave %d senders", c.Senders)
	}
	if c, _ := parseBenchChat([]string{"--rate", "7.2"}, io.Discard); c.Senders != 8 {
		t.Errorf("--rate 7.2 gave %d senders, want 8 (1 msg/s each)", c.Senders)
	}
	for _, args := range [][]string{
		{"--conns", "0"},
		{"--rate", "0"},
		{"--rate", "-1"},
		{"--rate", "NaN"},
		{"--duration", "0s"},
		{"--senders", "-1"},
		{"--dial-rate", "0"},
		{"--drain", "-1s"},
		{"--rate", "0.1", "--duration", "5s"}, // no message
		{"--url", "ws://x"},
		{"--metrics", "localhost:8080/metrics"},
		{"--room", ""},
		{"extra"},
	} {
		var ue usageError
		if _, err := parseBenchChat(args, io.Discard); !errors.As(err, &ue) {
			t.Errorf("parseBenchChat(%q) = %v, want a usage error", args, err)
		}
	}
}

func TestScanFrame(t *testing.T) {
	marker := []byte("onair-bench:abcd:")
	env := func(ts int64, text string) string {
		return fmt.Sprintf(`{"v":1,"type":"chat","id":"01J","room":"bench","from":{"id":"u","name":"bench-1"},"ts":%d,"body":{"text":%q}}`, ts, text)
	}
	frame := "[" + strings.Join([]string{
		env(1700000000001, "onair-bench:abcd:0:1700000000000500000"),
		env(1700000000002, "onair-bench:ffff:1:1700000000001000000"), // another run
		`{"v":1,"type":"presence","id":"01K","room":"bench","ts":1700000000003,"body":{"viewers":3}}`,
		env(1700000000004, "onair-bench:abcd:1:1700000000003000000"),
		env(1700000000005, "onair-bench:abcd:x"), // not a bench message
		`{"v":1,"type":"system","body":{"event":"dropped","count":12}}`,
		`{"v":1,"type":"system","body":{"event":"dropped","count":3}}`,
	}, ",") + "]"
	type hit struct{ sent, stamp int64 }
	var got []hit
	dropped := scanFrame([]byte(frame), marker, func(sent, stamp int64) { got = append(got, hit{sent, stamp}) })
	want := []hit{{1700000000000500000, 1700000000001}, {1700000000003000000, 1700000000004}}
	if !slices.Equal(got, want) || dropped != 15 {
		t.Errorf("scanFrame = %v, dropped %d; want %v, dropped 15", got, dropped, want)
	}
	if dropped := scanFrame([]byte(`[]`), marker, func(int64, int64) { t.Error("found a message in []") }); dropped != 0 {
		t.Errorf("dropped %d in []", dropped)
	}
	// The text as the tool sends it is what scanFrame finds.
	sent := time.Unix(1700000000, 123456789)
	text := benchText(string(marker), 42, sent)
	scanFrame([]byte(env(1700000000200, text)), marker, func(ns, stamp int64) {
		if ns != sent.UnixNano() || stamp != 1700000000200 {
			t.Errorf("benchText %q scanned as %d, %d", text, ns, stamp)
		}
	})
}

func TestLatencyHist(t *testing.T) {
	for v := uint64(0); v < 1<<22; v += 1 + v/97 {
		i := histIndex(v)
		if histUpper(i) < v || (i > 0 && histUpper(i-1) >= v) {
			t.Fatalf("%d µs in bucket %d, which spans (%d, %d]", v, i, histUpper(i-1), histUpper(i))
		}
		if float64(histUpper(i)-v) > float64(v)/64+1 {
			t.Fatalf("%d µs: bucket %d ends at %d, more than 1/64 above", v, i, histUpper(i))
		}
	}
	if histIndex(1<<62) != histBuckets-1 {
		t.Errorf("a huge value is in bucket %d", histIndex(1<<62))
	}

	rng := rand.New(rand.NewPCG(1, 2))
	shards := []*latencyHist{{}, {}, {}}
	var all []time.Duration
	for i := range 20000 {
		d := time.Duration(rng.ExpFloat64() * float64(30*time.Millisecond))
		all = append(all, d.Truncate(time.Microsecond))
		shards[i%3].Record(d)
	}
	shards[0].Record(-time.Second) // counts as 0
	all = append(all, 0)
	slices.Sort(all)
	s := mergeHists(shards)
	for _, p := range []float64{1, 50, 95, 99, 100} {
		got, want := s.Percentile(p), percentile(all, p)
		if got < want || float64(got-want) > float64(want)/64+float64(time.Microsecond) {
			t.Errorf("p%v = %v, exact %v", p, got, want)
		}
	}
	if s.Max() != all[len(all)-1] || s.Percentile(100) != s.Max() {
		t.Errorf("max %v, p100 %v; exact %v", s.Max(), s.Percentile(100), all[len(all)-1])
	}
	if (&histSummary{}).Percentile(50) != 0 {
		t.Error("an empty histogram has a p50")
	}
}

const sampleExposition = `# HELP go_goroutines Number of goroutines that currently exist.
# TYPE go_goroutines gauge
go_goroutines 120
go_gc_gogc_percent 50
go_memstats_next_gc_bytes 3.0e+07
go_memstats_stack_inuse_bytes 2.097152e+06
go_gc_duration_seconds{quantile="0.5"} 0.0005
process_cpu_seconds_total 12.5
process_resident_memory_bytes 1.048576e+08
onair_rooms 1
`

func TestParseMetrics(t *testing.T) {
	s, err := parseMetrics(strings.NewReader(sampleExposition))
	if err != nil {
		t.Fatal(err)
	}
	if s.CPUSeconds != 12.5 || s.RSSBytes != 100<<20 || s.HeapBytes != 20e6 || s.StackBytes != 2<<20 || s.Goroutines != 120 {
		t.Errorf("parsed %+v", s)
	}
	noGOGC := strings.Replace(sampleExposition, "go_gc_gogc_percent 50\n", "", 1)
	if s, err := parseMetrics(strings.NewReader(noGOGC)); err != nil || s.HeapBytes != 15e6 {
		t.Errorf("without GOGC (default 100): %+v, %v", s, err)
	}
	noCPU := strings.Replace(sampleExposition, "process_cpu_seconds_total 12.5\n", "", 1)
	if _, err := parseMetrics(strings.NewReader(noCPU)); err == nil || !strings.Contains(err.Error(), "process_cpu_seconds_total") {
		t.Errorf("without the process collector: %v", err)
	}
	bad := strings.Replace(sampleExposition, "go_goroutines 120", "go_goroutines many", 1)
	if _, err := parseMetrics(strings.NewReader(bad)); err == nil {
		t.Error("a bad value parsed")
	}
}

func TestServerUsage(t *testing.T) {
	t0 := time.Now()
	before := serverSample{CPUSeconds: 1, RSSBytes: 100 << 20, HeapBytes: 10 << 20, StackBytes: 1 << 20, Goroutines: 40, at: t0}
	connected := serverSample{CPUSeconds: 3, RSSBytes: 200 << 20, HeapBytes: 60 << 20, StackBytes: 21 << 20, Goroutines: 2040, at: t0.Add(10 * time.Second)}
	after := serverSample{CPUSeconds: 8, RSSBytes: 210 << 20, at: t0.Add(20 * time.Second)}
	u := newServerUsage(before, connected, after, 1000, 2_500_000)
	if u.CPUCores != 0.5 || u.CPUPerDeliveryUS != 2 || u.CPUPerConnUSPerS != 500 || u.RSSPerConnKiB != 102.4 ||
		u.HeapPerConnKiB != 51.2 || u.StackPerConnKiB != 20.48 || u.GoroutinesPerConn != 2 {
		t.Errorf("usage %+v", u)
	}
}

func TestUsersFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "users.json")
	if users, err := readUsers(path); err != nil || users != nil {
		t.Fatalf("a missing file: %v, %v", users, err)
	}
	in := []benchUser{{Token: "only-a-token"}, {Name: "bench-1", Password: "pw", Token: "t1"}, {Name: "bench-2", Password: "pw"}}
	if err := writeUsers(path, in); err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Stat(path); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("users file mode: %v, %v", fi.Mode(), err)
	}
	out, err := readUsers(path)
	if err != nil || !slices.Equal(out, in[1:]) {
		t.Errorf("read back %+v, %v; want the named users", out, err)
	}
	if err := os.WriteFile(path, []byte(`{"name":"x"}`), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := readUsers(path); err == nil {
		t.Error("an object instead of an array was read")
	}
}

func runBenchJSON(t *testing.T, args ...string) (benchChatResult, string) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	code := run(context.Background(), append([]string{"bench", "chat", "--json"}, args...), nil, &stdout, &stderr)
	if code != exitOK {
		t.Fatalf("onairctl bench chat exited %d:\n%s%s", code, stderr.String(), stdout.String())
	}
	var r benchChatResult
	if err := json.Unmarshal(stdout.Bytes(), &r); err != nil {
		t.Fatalf("report %s: %v", stdout.String(), err)
	}
	return r, stderr.String()
}

// A short run against a real server: every message reaches every connection,
// senders are signed up once and their tokens reused by the next run, whose
// connections see the first run's messages in their history without
// counting them.
func TestBenchChat(t *testing.T) {
	base := startServer(t)
	users := filepath.Join(t.TempDir(), "users.json")
	args := []string{"--url", base, "--room", "benchroom", "--conns", "50", "--rate", "5", "--duration", "2s",
		"--users", users, "--metrics", base + "/metrics"}
	r, stderr := runBenchJSON(t, args...)
	if r.Established != 50 || r.DialFailed != 0 || r.Lost != 0 || r.Senders != 5 || r.Sent != 10 || r.Refused != 0 || r.SendFailed != 0 {
		t.Fatalf("run: %+v\n%s", r, stderr)
	}
	if r.Deliveries != 500 || r.Expected != 500 || r.DeliveredPct != 100 || r.Dropped != 0 {
		t.Errorf("deliveries %d of %d (%v%%), want all 500", r.Deliveries, r.Expected, r.DeliveredPct)
	}
	if r.Latency.P50 <= 0 || r.Latency.P50 > r.Latency.P99 || r.Latency.P99 > r.Latency.Max || r.Latency.Max > 5000 ||
		r.FanOut.Max <= 0 || r.FanOut.Max > r.Latency.Max+1 {
		t.Errorf("latency %+v, fan-out %+v", r.Latency, r.FanOut)
	}
	if r.Seconds < 2 || r.Seconds > 3 || r.DeliveriesPerSec != math.Round(500/r.Seconds) {
		t.Errorf("%v deliveries/s over %v s, want 500 over about 2 s", r.DeliveriesPerSec, r.Seconds)
	}
	if s := r.Server; s == nil || s.Before.CPUSeconds <= 0 || s.After.CPUSeconds < s.Connected.CPUSeconds || s.Connected.RSSBytes <= 0 ||
		s.CPUPerDeliveryUS <= 0 || s.GoroutinesPerConn < 1 {
		t.Errorf("server usage %+v", r.Server)
	}
	saved, err := readUsers(users)
	if err != nil || len(saved) != 5 || saved[0].Name != "bench-1" || saved[4].Name != "bench-5" || saved[0].Token == "" {
		t.Fatalf("users file: %+v, %v", saved, err)
	}

	r, _ = runBenchJSON(t, args[:len(args)-2]...) // no --metrics
	if r.Deliveries != 500 || r.Expected != 500 || r.Server != nil {
		t.Errorf("second run: %d of %d delivered, server %+v", r.Deliveries, r.Expected, r.Server)
	}
	again, err := readUsers(users)
	if err != nil || !slices.Equal(again, saved) {
		t.Errorf("the second run changed the users file: %+v", again)
	}
}

// One sender at 5 msg/s is over the server's per-user limit (1/s, burst 5):
// the refusals are counted by code and only accepted messages are expected.
func TestBenchChatRefusals(t *testing.T) {
	base := startServer(t)
	var stdout, stderr bytes.Buffer
	code := run(context.Background(), []string{"bench", "chat", "--url", base, "--conns", "10", "--rate", "5", "--duration", "3s",
		"--senders", "1", "--name-prefix", "loud-"}, nil, &stdout, &stderr)
	if code != exitOK {
		t.Fatalf("exit %d:\n%s%s", code, stderr.String(), stdout.String())
	}
	for _, want := range []string{"connections  10 of 10", "messages     15 sent by 1 senders", "refused (slow_down: ", "(100.00%)", "p99"} {
		if !strings.Contains(stdout.String(), want) {
			t.Errorf("report lacks %q:\n%s", want, stdout.String())
		}
	}

	r, _ := runBenchJSON(t, "--url", base, "--conns", "10", "--rate", "5", "--duration", "3s", "--senders", "1", "--name-prefix", "loud-")
	if r.Sent != 15 || r.Refused < 5 || r.Refused > 12 || r.RefusedBy["slow_down"] != r.Refused {
		t.Fatalf("sent %d, refused %d %v", r.Sent, r.Refused, r.RefusedBy)
	}
	if r.Expected != (r.Sent-r.Refused)*10 || r.Deliveries != r.Expected {
		t.Errorf("%d delivered of %d expected ((%d sent - %d refused) × 10)", r.Deliveries, r.Expected, r.Sent, r.Refused)
	}
}

func TestBenchChatNoServer(t *testing.T) {
	var stdout, stderr bytes.Buffer
	code := run(context.Background(), []string{"bench", "chat", "--url", "http://127.0.0.1:1", "--token", "T", "--conns", "1",
		"--rate", "1", "--duration", "1s"}, nil, &stdout, &stderr)
	if code != exitError || !strings.Contains(stderr.String(), "sender 1") {
		t.Errorf("exit %d, stderr %q", code, stderr.String())
	}
	if code := run(context.Background(), []string{"bench", "cat"}, nil, &stdout, &stderr); code != exitUsage {
		t.Errorf("bench cat: exit %d", code)
	}
}
