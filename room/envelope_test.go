package room

import (
	"encoding/json"
	"sort"
	"sync"
	"testing"
	"time"
)

func TestNewMessageIDSortsByTime(t *testing.T) {
	base := time.UnixMilli(1_700_000_000_000)
	var ids []string
	for i := range 100 {
		ids = append(ids, NewMessageID(base.Add(time.Duration(i)*time.Millisecond)))
	}
	if !sort.StringsAreSorted(ids) {
		t.Fatal("ids are not in time order")
	}
	if len(ids[0]) != 26 || ids[0] == ids[1] {
		t.Fatalf("bad ids %q %q", ids[0], ids[1])
	}
	if a, b := NewMessageID(base), NewMessageID(base); a == b {
		t.Fatal("two ids in the same millisecond collided")
	}
}

// Ids made by one process sort in the order they were made, also within one
// millisecond and from many goroutines.
func TestNewMessageIDIsMonotonic(t *testing.T) {
	now := time.Now()
	prev := ""
	for i := range 10000 {
		id := NewMessageID(now)
		if id <= prev {
			t.Fatalf("id %d %s is not after %s", i, id, prev)
		}
		prev = id
	}
	if back := NewMessageID(now.Add(-5 * time.Millisecond)); back <= prev {
		t.Fatalf("a clock 5 ms back made %s, not after %s", back, prev)
	}
	var mu sync.Mutex
	seen := map[string]bool{}
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			last := ""
			for range 1000 {
				id := NewMessageID(time.Now())
				if id <= last {
					t.Errorf("%s after %s in one goroutine", id, last)
				}
				last = id
				mu.Lock()
				seen[id] = true
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if len(seen) != 8000 {
		t.Fatalf("%d distinct ids of 8000", len(seen))
	}
}

type recordBus struct {
	subjects []string
	msgs     [][]byte
}

func (r *recordBus) Publish(s string, d []byte) error {
	r.subjects = append(r.subjects, s)
	r.msgs = append(r.msgs, d)
	return nil
}

func TestLifecycleEnvelope(t *testing.T) {
	bus := &recordBus{}
	l := &Lifecycle{Bus: bus, Now: func() time.Time { return time.UnixMilli(42) }}
	l.RoomStarted("demo")
	l.PublisherJoined("demo", "alice")
	if len(bus.msgs) != 2 || bus.subjects[0] != "onair.room.demo" {
		t.Fatalf("published %v", bus.subjects)
	}
	var env Envelope
	if err := json.Unmarshal(bus.msgs[1], &env); err != nil {
		t.Fatal(err)
	}
	var body SystemBody
	_ = json.Unmarshal(env.Body, &body)
	if env.V != 1 || env.Type != "system" || env.Room != "demo" || env.TS != 42 || body.Event != "cohost_joined" || body.Identity != "alice" {
		t.Fatalf("envelope %+v body %+v", env, body)
	}
}
