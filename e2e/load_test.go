package e2e

import (
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/onair-live/onair/cmd/onair/app"
)

// BenchmarkAPI measures login and the lobby's /api/rooms under 16 concurrent
// clients on SQLite and on PostgreSQL: ns/op is wall time per request (so
// requests per second = 1e9 / ns/op), with p50/p99 latency reported.
//
//	go test -run XXX -bench API -benchtime 2000x ./e2e/
func BenchmarkAPI(b *testing.B) {
	for _, engine := range []string{"sqlite", "postgres"} {
		b.Run(engine, func(b *testing.B) {
			n := startNode(b, func(c *app.Config) {
				c.Dev = false
				c.Accounts.LoginBurst, c.Accounts.LoginPerMinute = 1<<30, 1<<30 // measure the path, not the limiter
				if engine == "postgres" {
					c.DB = freshPostgres(b)
				}
			})
			for i := range 3 {
				name := fmt.Sprintf("bench%d", i)
				u := createUser(b, n, name, "streamer", "bench-password")
				publishSynthetic(b, n, name, u["stream_key"], 5, false)
			}
			body := `{"name":"bench0","password":"bench-password"}`
			b.Run("login", func(b *testing.B) {
				loadRun(b, func(c *http.Client) (*http.Response, error) {
					return c.Post(n.base+"/api/auth/login", "application/json", strings.NewReader(body))
				})
			})
			b.Run("rooms", func(b *testing.B) {
				loadRun(b, func(c *http.Client) (*http.Response, error) { return c.Get(n.base + "/api/rooms") })
			})
		})
	}
}

func loadRun(b *testing.B, req func(*http.Client) (*http.Response, error)) {
	c := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}}
	var mu sync.Mutex
	var all []time.Duration
	b.SetParallelism(8) // 8 × GOMAXPROCS (2) = 16 clients
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		var mine []time.Duration
		for pb.Next() {
			start := time.Now()
			resp, err := req(c)
			if err != nil {
				b.Error(err)
				return
			}
			resp.Body.Close()
			if resp.StatusCode != 200 {
				b.Errorf("status %d", resp.StatusCode)
				return
			}
			mine = append(mine, time.Since(start))
		}
		mu.Lock()
		all = append(all, mine...)
		mu.Unlock()
	})
	b.StopTimer()
	if len(all) == 0 {
		return
	}
	slices.Sort(all)
	q := func(p float64) float64 { return float64(all[int(p*float64(len(all)-1))].Microseconds()) / 1000 }
	b.ReportMetric(float64(len(all))/b.Elapsed().Seconds(), "req/s")
	b.ReportMetric(q(0.50), "p50-ms")
	b.ReportMetric(q(0.99), "p99-ms")
}
