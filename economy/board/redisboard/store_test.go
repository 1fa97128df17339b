package redisboard

import (
	"context"
	"crypto/rand"
	"errors"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/onair-live/onair/economy/board"
	"github.com/onair-live/onair/economy/board/boardtest"
)

const defaultTestRedis = "redis://127.0.0.1:6379/15"

// newTestStore connects to $ONAIR_TEST_REDIS under a fresh random prefix and
// deletes every key under it when the test ends. No Redis is a failure.
func newTestStore(tb testing.TB, cfg board.Config) *Store {
	tb.Helper()
	url := os.Getenv("ONAIR_TEST_REDIS")
	if url == "" {
		url = defaultTestRedis
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	prefix := "onairtest:" + rand.Text() + ":"
	s, err := New(ctx, url, cfg, WithPrefix(prefix))
	if err != nil {
		tb.Fatalf("these tests need Redis at %s (set ONAIR_TEST_REDIS to use another): %v\n"+
			"start one with: redis-server --port 6379 --save '' --appendonly no --daemonize yes", url, err)
	}
	tb.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if _, err := s.drop(ctx, func(int64) bool { return true }); err != nil {
			tb.Errorf("delete test keys under %q: %v", prefix, err)
		}
		if err := s.rdb.Del(ctx, prefix+"gen", prefix+"nextgen").Err(); err != nil {
			tb.Errorf("delete test keys under %q: %v", prefix, err)
		}
		if err := s.Close(); err != nil {
			tb.Errorf("close: %v", err)
		}
	})
	return s
}

func newStore(tb testing.TB, cfg board.Config) board.Store { return newTestStore(tb, cfg) }

func TestContract(t *testing.T) { boardtest.Run(t, newStore) }

func BenchmarkAdd(b *testing.B) { boardtest.BenchAdd(b, newStore) }
func BenchmarkTop(b *testing.B) { boardtest.BenchTop(b, newStore) }

// BenchmarkRoundTrip is one PING: the floor under every figure above, so
// that they can be read as round trips on any machine.
func BenchmarkRoundTrip(b *testing.B) {
	s := newTestStore(b, board.Config{})
	b.ReportAllocs()
	for b.Loop() {
		if err := s.rdb.Ping(b.Context()).Err(); err != nil {
			b.Fatal(err)
		}
	}
}

// keys lists the store's keys with their PTTL.
func keys(t *testing.T, s *Store) map[string]time.Duration {
	t.Helper()
	ctx := t.Context()
	out := map[string]time.Duration{}
	iter := s.rdb.Scan(ctx, 0, globEscape(s.prefix)+"*", 1000).Iterator()
	for iter.Next(ctx) {
		ttl, err := s.rdb.PTTL(ctx, iter.Val()).Result()
		if err != nil {
			t.Fatal(err)
		}
		out[strings.TrimPrefix(iter.Val(), s.prefix)] = ttl
	}
	if err := iter.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

func add(t *testing.T, s *Store, c board.Credit) {
	t.Helper()
	if err := s.Add(t.Context(), c); err != nil {
		t.Fatal(err)
	}
}

// Every period key carries the TTL its deadline gives, measured on the
// store's clock; all-time keys have none.
func TestKeyTTLs(t *testing.T) {
	now := time.Date(2030, 1, 2, 12, 0, 0, 0, time.UTC) // Wednesday noon
	clock := boardtest.NewClock(now)
	s := newTestStore(t, board.Config{Now: clock.Now})
	add(t, s, board.Credit{Room: "r1", Broadcast: "b1", User: "u1", Streamer: "s1", Amount: 5, Earned: 2, At: now})
	day := 12*time.Hour + 48*time.Hour                      // to midnight, then the default DayRetention
	week := 4*24*time.Hour + 12*time.Hour + 14*24*time.Hour // to Monday, then WeekRetention
	bc := 7 * 24 * time.Hour
	want := map[string]time.Duration{
		"0:r:r1:b:b1": bc, "0:r:r1:b:b1:until": bc,
		"0:r:r1:d:2030-01-02": day, "0:r:r1:w:2030-W01": week, "0:r:r1:all": -1,
		"0:s:d:2030-01-02": day, "0:s:w:2030-W01": week, "0:s:all": -1,
	}
	got := keys(t, s)
	if len(got) != len(want) {
		t.Fatalf("keys %v, want %v", got, want)
	}
	for k, ttl := range want {
		g, ok := got[k]
		if !ok {
			t.Errorf("no key %s", k)
			continue
		}
		if ttl < 0 && g != ttl || ttl > 0 && (g > ttl || g < ttl-5*time.Second) {
			t.Errorf("key %s has PTTL %v, want %v", k, g, ttl)
		}
	}
}

// Redis deletes a board's keys by itself once its retention has passed,
// with nothing reading them.
func TestKeysExpireInRedis(t *testing.T) {
	s := newTestStore(t, board.Config{BroadcastRetention: 300 * time.Millisecond})
	add(t, s, board.Credit{Room: "r1", Broadcast: "b1", User: "u1", Streamer: "s1", Amount: 5, At: time.Now()})
	if _, ok := keys(t, s)["0:r:r1:b:b1"]; !ok {
		t.Fatal("no broadcast board")
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		ks := keys(t, s)
		_, board := ks["0:r:r1:b:b1"]
		_, until := ks["0:r:r1:b:b1:until"]
		if !board && !until {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("broadcast keys still there 10s after a 300ms retention: %v", ks)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// A rebuild leaves one generation behind it: the old ones are deleted, and
// so is what a failed rebuild wrote.
func TestRebuildLeavesOneGeneration(t *testing.T) {
	ctx := t.Context()
	now := time.Date(2030, 1, 2, 12, 0, 0, 0, time.UTC)
	clock := boardtest.NewClock(now)
	s := newTestStore(t, board.Config{Now: clock.Now})
	c := board.Credit{Room: "r1", Broadcast: "b1", User: "u1", Streamer: "s1", Amount: 5, Earned: 1, At: now}
	add(t, s, c)
	gens := func() []string {
		var out []string
		for k := range keys(t, s) {
			g, _, _ := strings.Cut(k, ":")
			if !slices.Contains(out, g) {
				out = append(out, g)
			}
		}
		slices.Sort(out)
		return out
	}
	if g := gens(); !slices.Equal(g, []string{"0"}) {
		t.Fatalf("generations %v before any rebuild, want [0]", g)
	}
	for i, want := range [][]string{{"1", "gen", "nextgen"}, {"2", "gen", "nextgen"}} {
		if err := s.Rebuild(ctx, board.Credits([]board.Credit{c, c})); err != nil {
			t.Fatal(err)
		}
		if g := gens(); !slices.Equal(g, want) {
			t.Fatalf("after rebuild %d: generations %v, want %v", i+1, g, want)
		}
	}
	boom := errors.New("boom")
	failing := func(yield func(board.Credit, error) bool) {
		if yield(c, nil) {
			yield(board.Credit{}, boom)
		}
	}
	if err := s.Rebuild(ctx, failing); !errors.Is(err, boom) {
		t.Fatalf("Rebuild: %v, want boom", err)
	}
	// A failure after writing: the generation it took is dropped.
	gen, err := nextGenScript.Run(ctx, s.rdb, nil, s.prefix).Int64()
	if err != nil {
		t.Fatal(err)
	}
	sums, err := s.cal.Sum(ctx, board.Credits([]board.Credit{c}), now)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.write(ctx, gen, sums, now); err != nil {
		t.Fatal(err)
	}
	if g := gens(); !slices.Contains(g, "3") {
		t.Fatalf("generations %v after writing generation 3", g)
	}
	if err := s.abandon(ctx, gen, boom); !errors.Is(err, boom) {
		t.Fatalf("abandon: %v, want boom", err)
	}
	if g := gens(); !slices.Equal(g, []string{"2", "gen", "nextgen"}) {
		t.Fatalf("after failed rebuilds: generations %v, want [2 gen nextgen]", g)
	}
	e, ok, err := s.Rank(ctx, board.Board{Kind: board.RoomAllTime, Room: "r1"}, "u1")
	if err != nil || !ok || e.Score != 10 {
		t.Fatalf("Rank after rebuilds = %+v, %v, %v; want score 10", e, ok, err)
	}
}

// A rebuild that finishes after a newer one gives way to it.
func TestStaleRebuildGivesWay(t *testing.T) {
	ctx := t.Context()
	s := newTestStore(t, board.Config{})
	c := board.Credit{Room: "r1", User: "u1", Streamer: "s1", Amount: 5, At: time.Now()}
	if err := s.rdb.Set(ctx, s.prefix+"gen", 7, 0).Err(); err != nil {
		t.Fatal(err)
	}
	if err := s.rdb.Set(ctx, s.prefix+"nextgen", 3, 0).Err(); err != nil {
		t.Fatal(err)
	}
	// nextgen behind gen (say, restored from different backups): the rebuild
	// still takes a generation above the current one.
	if err := s.Rebuild(ctx, board.Credits([]board.Credit{c})); err != nil {
		t.Fatal(err)
	}
	if g, err := s.rdb.Get(ctx, s.prefix+"gen").Int(); err != nil || g != 8 {
		t.Fatalf("gen = %d, %v; want 8", g, err)
	}
	if old, err := switchScript.Run(ctx, s.rdb, nil, s.prefix, 5).Int(); err != nil || old != -1 {
		t.Fatalf("switching back to generation 5 answered %d, %v; want -1", old, err)
	}
}

func TestNewBadInput(t *testing.T) {
	for _, url := range []string{"", "http://127.0.0.1:6379", "redis://127.0.0.1:6379/notadb"} {
		if s, err := New(t.Context(), url, board.Config{}); err == nil {
			s.Close()
			t.Errorf("New(%q): no error", url)
		}
	}
	if _, err := New(t.Context(), defaultTestRedis, board.Config{TimeZone: "Nowhere/Town"}); !errors.Is(err, board.ErrBadConfig) {
		t.Errorf("New with an unknown zone: %v, want ErrBadConfig", err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
	defer cancel()
	// Port 1 on loopback: nothing listens there, so the ping fails fast.
	if s, err := New(ctx, "redis://127.0.0.1:1/0", board.Config{}); err == nil {
		s.Close()
		t.Fatal("New: no error for a Redis that is not there")
	}
}

func TestGlobEscape(t *testing.T) {
	if got := globEscape(`a*b?c[d]e\f`); got != `a\*b\?c\[d\]e\\f` {
		t.Errorf("globEscape = %s", got)
	}
}
