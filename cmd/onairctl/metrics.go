package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// serverSample is what a load run reads from the server's /metrics (Prometheus
// text format): the process collector's CPU and RSS, the Go collector's heap,
// stacks and goroutines.
type serverSample struct {
	CPUSeconds float64 `json:"cpu_seconds"`
	RSSBytes   float64 `json:"rss_bytes"`
	// HeapBytes is the live heap as of the last GC: the GC's next target
	// divided by 1+GOGC/100 (the in-use heap would count garbage too).
	HeapBytes  float64 `json:"heap_live_bytes"`
	StackBytes float64 `json:"stack_bytes"`
	Goroutines float64 `json:"goroutines"`
	nextGC     float64
	gogc       float64
	at         time.Time
}

// sampleMetrics are the series read, each a gauge or counter without labels.
var sampleMetrics = map[string]func(*serverSample) *float64{
	"process_cpu_seconds_total":     func(s *serverSample) *float64 { return &s.CPUSeconds },
	"process_resident_memory_bytes": func(s *serverSample) *float64 { return &s.RSSBytes },
	"go_memstats_next_gc_bytes":     func(s *serverSample) *float64 { return &s.nextGC },
	"go_memstats_stack_inuse_bytes": func(s *serverSample) *float64 { return &s.StackBytes },
	"go_goroutines":                 func(s *serverSample) *float64 { return &s.Goroutines },
}

// gogcMetric is GOGC; when a server does not export it, the default (100) holds.
const gogcMetric = "go_gc_gogc_percent"

// scrape reads one sample from a /metrics URL.
func scrape(ctx context.Context, url string) (serverSample, error) {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return serverSample{}, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return serverSample{}, fmt.Errorf("metrics: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return serverSample{}, fmt.Errorf("metrics: GET %s: %s", url, resp.Status)
	}
	s, err := parseMetrics(resp.Body)
	s.at = time.Now()
	return s, err
}

// parseMetrics picks sampleMetrics out of the Prometheus text format; it fails
// when one is missing (the server does not export the process collector).
func parseMetrics(r io.Reader) (serverSample, error) {
	var s serverSample
	found := map[string]bool{}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) < 2 || strings.HasPrefix(f[0], "#") {
			continue
		}
		field, ok := sampleMetrics[f[0]]
		if f[0] == gogcMetric {
			field, ok = func(s *serverSample) *float64 { return &s.gogc }, true
		}
		if !ok {
			continue
		}
		v, err := strconv.ParseFloat(f[1], 64)
		if err != nil {
			return s, fmt.Errorf("metrics: %s: %w", f[0], err)
		}
		*field(&s) = v
		found[f[0]] = true
	}
	if !found[gogcMetric] {
		s.gogc = 100
	}
	if s.gogc > 0 { // GOGC=off leaves no target to go by
		s.HeapBytes = s.nextGC * 100 / (100 + s.gogc)
	}
	if err := sc.Err(); err != nil {
		return s, fmt.Errorf("metrics: %w", err)
	}
	for name := range sampleMetrics {
		if !found[name] {
			return s, fmt.Errorf("metrics: no %s in the answer", name)
		}
	}
	return s, nil
}

// serverUsage is the server's cost in a load run, from three samples: before
// the receiving connections, once they are all connected, and after sending.
type serverUsage struct {
	Before    serverSample `json:"before"`
	Connected serverSample `json:"connected"`
	After     serverSample `json:"after"`
	// While sending: CPU cores busy, CPU per delivery, CPU per connection.
	CPUCores          float64 `json:"cpu_cores"`
	CPUPerDeliveryUS  float64 `json:"cpu_us_per_delivery"`
	CPUPerConnUSPerS  float64 `json:"cpu_us_per_s_per_conn"`
	RSSPerConnKiB     float64 `json:"rss_kib_per_conn"`   // (connected - before) / connections
	HeapPerConnKiB    float64 `json:"heap_kib_per_conn"`  // likewise
	StackPerConnKiB   float64 `json:"stack_kib_per_conn"` // likewise
	GoroutinesPerConn float64 `json:"goroutines_per_conn"`
}

func newServerUsage(before, connected, after serverSample, conns int, deliveries int64) *serverUsage {
	u := &serverUsage{Before: before, Connected: connected, After: after}
	cpu := after.CPUSeconds - connected.CPUSeconds
	if secs := after.at.Sub(connected.at).Seconds(); secs > 0 {
		u.CPUCores = cpu / secs
	}
	if deliveries > 0 {
		u.CPUPerDeliveryUS = cpu * 1e6 / float64(deliveries)
	}
	if conns > 0 {
		n := float64(conns)
		u.CPUPerConnUSPerS = u.CPUCores * 1e6 / n
		u.RSSPerConnKiB = (connected.RSSBytes - before.RSSBytes) / 1024 / n
		u.HeapPerConnKiB = (connected.HeapBytes - before.HeapBytes) / 1024 / n
		u.StackPerConnKiB = (connected.StackBytes - before.StackBytes) / 1024 / n
		u.GoroutinesPerConn = (connected.Goroutines - before.Goroutines) / n
	}
	return u
}
