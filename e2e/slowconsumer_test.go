package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/nats-io/nats.go"

	"github.com/onair-live/onair/cmd/onair/app"
	"github.com/onair-live/onair/room"
	"github.com/onair-live/onair/room/hub"
)

// metric reads one unlabelled sample from the node's /metrics.
func metric(t *testing.T, n *node, name string) float64 {
	t.Helper()
	_, _, body := do(t, "GET", n.base+"/metrics", "", "")
	for line := range strings.Lines(body) {
		if v, ok := strings.CutPrefix(line, name+" "); ok {
			f, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
			if err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			return f
		}
	}
	t.Fatalf("/metrics has no %s", name)
	return 0
}

// seqReader reads a room socket, recording the seq of each message and its
// delay since the server's ts, until the socket ends.
type seqReader struct {
	mu   sync.Mutex
	seq  []int
	lags []time.Duration
	end  error // why reading stopped
}

func readSeqs(t *testing.T, ctx context.Context, n *node, id room.ID) *seqReader {
	t.Helper()
	r := &seqReader{}
	conn := dialRoomSocket(t, ctx, n, id)
	go func() {
		defer conn.CloseNow()
		for {
			_, data, err := conn.Read(ctx)
			if err != nil {
				r.mu.Lock()
				r.end = err
				r.mu.Unlock()
				return
			}
			got := time.Now()
			var batch []struct {
				TS   int64 `json:"ts"`
				Body struct {
					Seq int `json:"seq"`
				} `json:"body"`
			}
			if err := json.Unmarshal(data, &batch); err != nil {
				t.Errorf("a frame: %v", err)
				return
			}
			r.mu.Lock()
			for _, e := range batch {
				r.seq = append(r.seq, e.Body.Seq)
				r.lags = append(r.lags, got.Sub(time.UnixMilli(e.TS)))
			}
			r.mu.Unlock()
		}
	}()
	return r
}

// hasAll waits until r has messages 0..total-1 and checks they came in order.
func (r *seqReader) hasAll(t *testing.T, name string, total int) {
	t.Helper()
	eventually(t, 10*time.Second, fmt.Sprintf("%s to get all %d", name, total), func() bool {
		r.mu.Lock()
		defer r.mu.Unlock()
		return len(r.seq) >= total
	})
	r.mu.Lock()
	defer r.mu.Unlock()
	for i, s := range r.seq {
		if s != i || len(r.seq) != total {
			t.Errorf("%s got %d messages, not 0..%d in order", name, len(r.seq), total-1)
			return
		}
	}
}

func dialRoomSocket(t *testing.T, ctx context.Context, n *node, id room.ID) *websocket.Conn {
	t.Helper()
	conn, _, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(n.base, "http")+"/ws/rooms/"+string(id), nil)
	if err != nil {
		t.Fatal(err)
	}
	conn.SetReadLimit(1 << 24)
	return conn
}

// dialStuck opens a room socket that nothing reads unless the test does.
func dialStuck(t *testing.T, ctx context.Context, n *node, id room.ID) *websocket.Conn {
	t.Helper()
	conn := dialRoomSocket(t, ctx, n, id)
	t.Cleanup(func() { conn.CloseNow() })
	return conn
}

// drain reads conn until it ends and returns why; it fails the test if conn is
// still open after 20 s.
func drain(t *testing.T, ctx context.Context, conn *websocket.Conn) error {
	t.Helper()
	ctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	for {
		if _, _, err := conn.Read(ctx); err != nil {
			if ctx.Err() != nil {
				t.Fatal("the socket is still open")
			}
			return err
		}
	}
}

// publishSeqs publishes messages from..to-1 of 4 KiB each straight on the
// room's subject, 2,000 a second, until to or until stop says so.
func publishSeqs(t *testing.T, nc *nats.Conn, id room.ID, from, to int, stop func() bool) int {
	t.Helper()
	pad := strings.Repeat("x", 4<<10)
	i := from
	for ; i < to && (stop == nil || i%20 != 0 || !stop()); i++ {
		now := time.Now()
		body, _ := json.Marshal(map[string]any{"seq": i, "text": pad})
		env, _ := json.Marshal(room.Envelope{V: 1, Type: "chat", ID: room.NewMessageID(now), Room: id, TS: now.UnixMilli(), Body: body})
		if err := nc.Publish(room.Subject(id), env); err != nil {
			t.Fatal(err)
		}
		if i%20 == 19 {
			time.Sleep(10 * time.Millisecond)
		}
	}
	return i
}

// A WebSocket client that stops reading delays nobody: the other sockets in
// the room get every message, in order, while its queue fills; it is then
// disconnected and counted, and told so with close code 4002 once it reads
// again. Messages are 4 KiB so that the socket's kernel buffers fill within a
// few thousand. When the node shuts down, the others get 1001 (going away).
func TestSlowSocketIsDisconnected(t *testing.T) {
	readers := make([]*seqReader, 3)
	ctx, cancel := context.WithCancel(context.Background())
	// Registered before the node starts, so it runs after the node has stopped.
	t.Cleanup(func() {
		defer cancel()
		for i, r := range readers {
			if r == nil { // the test stopped before
				continue
			}
			eventually(t, 5*time.Second, fmt.Sprintf("reader %d to be closed", i), func() bool {
				r.mu.Lock()
				defer r.mu.Unlock()
				return r.end != nil
			})
			if code := websocket.CloseStatus(r.end); code != websocket.StatusGoingAway {
				t.Errorf("reader %d closed at shutdown with %v, want 1001 going away", i, r.end)
			}
		}
	})
	url := startNATS(t)
	// A long write timeout: the stuck socket's last write is left to finish
	// once it reads again, however late the test gets to it.
	n := startNode(t, func(c *app.Config) {
		c.NATS = url
		c.Fanout = hub.Config{MaxDropped: 256, WriteTimeout: time.Minute}
	})
	const id, total = room.ID("slowroom"), 4000
	for i := range readers {
		readers[i] = readSeqs(t, ctx, n, id)
	}
	stuck := dialStuck(t, ctx, n, id)
	eventually(t, 5*time.Second, "4 chat sessions", func() bool { return metric(t, n, "onair_chat_sessions") == 4 })

	nc, err := nats.Connect(url)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	publishSeqs(t, nc, id, 0, total, nil)
	eventually(t, 20*time.Second, "the stuck socket to be disconnected", func() bool {
		return metric(t, n, "onair_chat_slow_consumers_total") == 1 && metric(t, n, "onair_chat_sessions") == 3
	})
	// Batches are dropped whole: 256 and at most one batch (64) more.
	if d := metric(t, n, "onair_chat_dropped_messages_total"); d < 256 || d >= 256+64 {
		t.Errorf("dropped %v messages, want the stuck socket's 256 to 319", d)
	}

	// The stuck client reads again: what was in flight, then the close frame.
	if err := drain(t, ctx, stuck); websocket.CloseStatus(err) != 4002 {
		t.Fatalf("the stuck socket ended with %v, want close code 4002 (too slow)", err)
	}
	var lags []time.Duration
	for i, r := range readers {
		r.hasAll(t, fmt.Sprintf("reader %d", i), total)
		r.mu.Lock()
		lags = append(lags, r.lags...)
		r.mu.Unlock()
	}
	slices.Sort(lags)
	t.Logf("the 3 reading sockets' delivery latency while one socket was stuck: p50 %s, p99 %s, max %s",
		lags[len(lags)/2], lags[len(lags)*99/100], lags[len(lags)-1])
}

// A socket whose write stays blocked longer than the write timeout is cut by
// the hub's watchdog, before it could drop enough to be called slow: the write
// is cancelled and the connection dropped (a close frame cannot follow half a
// frame). The reading socket goes on.
func TestStuckSocketWriteTimesOut(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	url := startNATS(t)
	n := startNode(t, func(c *app.Config) {
		c.NATS = url
		c.Fanout = hub.Config{MaxDropped: 1 << 30, WriteTimeout: 500 * time.Millisecond}
	})
	const id = room.ID("stuckroom")
	reader := readSeqs(t, ctx, n, id)
	stuck := dialStuck(t, ctx, n, id)
	eventually(t, 5*time.Second, "2 chat sessions", func() bool { return metric(t, n, "onair_chat_sessions") == 2 })
	nc, err := nats.Connect(url)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	cut := func() bool { return metric(t, n, "onair_chat_slow_consumers_total") == 1 }
	sent := publishSeqs(t, nc, id, 0, 40000, cut) // 20 s at the most
	if !cut() {
		t.Fatalf("the stuck socket was not cut after %d messages", sent)
	}
	if err := drain(t, ctx, stuck); websocket.CloseStatus(err) != -1 {
		t.Fatalf("the stuck socket ended with %v, want the connection dropped mid-frame", err)
	}
	sent = publishSeqs(t, nc, id, sent, sent+100, nil) // and after
	if s := metric(t, n, "onair_chat_sessions"); s != 1 {
		t.Fatalf("%v sessions, want the reader's", s)
	}
	reader.hasAll(t, "the reader", sent)
}
