package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/onair-live/onair/cmd/onair/app"
	"github.com/onair-live/onair/room"
)

// BenchmarkWebSocketFanout: N WebSocket connections in one room on loopback, one
// sender posting 100 messages/s for 10 s; reports deliveries/s and the delivery
// latency from post to receipt (clients and server share this process and its 2
// cores, so the figures include the clients' own work).
//
//	go test -run XXX -bench WebSocketFanout -benchtime 1x ./e2e/
func BenchmarkWebSocketFanout(b *testing.B) {
	for _, conns := range []int{1000, 5000} {
		b.Run(fmt.Sprintf("conns=%d", conns), func(b *testing.B) {
			for range b.N {
				fanoutRun(b, conns, 100, 10*time.Second)
			}
		})
	}
}

func fanoutRun(b *testing.B, conns, perSecond int, d time.Duration) {
	n := startNode(b, func(c *app.Config) { c.Chat.PerSecond, c.Chat.Burst = 1000, 1000 })
	createUser(b, n, "loud", "viewer", "loud-password")
	token := login(b, n, "loud", "loud-password")
	wsURL := "ws" + strings.TrimPrefix(n.base, "http") + "/ws/rooms/fanout"

	var ms0 runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&ms0)
	var (
		mu        sync.Mutex
		latencies []time.Duration
		delivered atomic.Int64
		wg        sync.WaitGroup
	)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	for i := range conns {
		dctx, dcancel := context.WithTimeout(ctx, 30*time.Second)
		conn, _, err := websocket.Dial(dctx, wsURL, nil)
		dcancel()
		if err != nil {
			b.Fatalf("connection %d: %v", i, err)
		}
		conn.SetReadLimit(1 << 20)
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer conn.CloseNow()
			var mine []time.Duration
			for {
				_, data, err := conn.Read(ctx)
				if err != nil {
					mu.Lock()
					latencies = append(latencies, mine...)
					mu.Unlock()
					return
				}
				var batch []room.Envelope
				if json.Unmarshal(data, &batch) != nil {
					continue
				}
				now := time.Now()
				for _, e := range batch {
					if e.Type != "chat" {
						continue
					}
					var body room.ChatBody
					_ = json.Unmarshal(e.Body, &body)
					if sent, err := strconv.ParseInt(body.Text, 10, 64); err == nil {
						mine = append(mine, now.Sub(time.Unix(0, sent)))
						delivered.Add(1)
					}
				}
			}
		}()
	}
	var ms1 runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&ms1)
	sender, _, err := websocket.Dial(ctx, wsURL+"?token="+token, nil)
	if err != nil {
		b.Fatal(err)
	}
	defer sender.CloseNow()
	go func() { // drain the sender's own copies
		for {
			if _, _, err := sender.Read(ctx); err != nil {
				return
			}
		}
	}()
	time.Sleep(500 * time.Millisecond)
	var cpu0 = processCPU()
	start := time.Now()
	tick := time.NewTicker(time.Second / time.Duration(perSecond))
	sent := 0
	for time.Since(start) < d {
		<-tick.C
		msg, _ := json.Marshal(map[string]any{"type": "chat", "body": map[string]string{"text": strconv.FormatInt(time.Now().UnixNano(), 10)}})
		if err := sender.Write(ctx, websocket.MessageText, msg); err != nil {
			b.Fatal(err)
		}
		sent++
	}
	tick.Stop()
	time.Sleep(time.Second) // let the last batches land
	elapsed := time.Since(start)
	cpu := processCPU() - cpu0
	cancel()
	wg.Wait()
	slices.Sort(latencies)
	if len(latencies) == 0 {
		b.Fatal("nothing delivered")
	}
	q := func(p float64) float64 {
		return float64(latencies[int(p*float64(len(latencies)-1))].Microseconds()) / 1000
	}
	b.ReportMetric(float64(delivered.Load())/elapsed.Seconds(), "deliveries/s")
	b.ReportMetric(float64(delivered.Load())/float64(sent*conns)*100, "%delivered")
	b.ReportMetric(q(0.5), "p50-ms")
	b.ReportMetric(q(0.99), "p99-ms")
	b.ReportMetric(cpu.Seconds()/elapsed.Seconds(), "cpu-cores")
	b.ReportMetric(float64(ms1.HeapInuse-ms0.HeapInuse)/float64(conns)/1024, "heap-KiB/conn")
}
