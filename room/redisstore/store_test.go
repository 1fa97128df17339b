package redisstore

import (
	"context"
	"crypto/rand"
	"os"
	"testing"
	"time"

	"github.com/onair-live/onair/room/roomtest"
)

const defaultTestRedis = "redis://127.0.0.1:6379/15"

// newTestStore connects to $ONAIR_TEST_REDIS under a fresh random prefix and
// deletes every key under it when the test ends. No Redis is a failure.
func newTestStore(tb testing.TB) *Store {
	tb.Helper()
	url := os.Getenv("ONAIR_TEST_REDIS")
	if url == "" {
		url = defaultTestRedis
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	prefix := "onairtest:" + rand.Text() + ":"
	s, err := New(ctx, url, WithPrefix(prefix))
	if err != nil {
		tb.Fatalf("these tests need Redis at %s (set ONAIR_TEST_REDIS to use another): %v\n"+
			"start one with: redis-server --port 6379 --save '' --appendonly no --daemonize yes", url, err)
	}
	tb.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if n, err := s.deleteAll(ctx); err != nil {
			tb.Errorf("delete test keys under %q: %v (%d deleted)", prefix, err, n)
		}
		if err := s.Close(); err != nil {
			tb.Errorf("close: %v", err)
		}
	})
	return s
}

// deleteAll deletes every key under the store's prefix (test cleanup only: it scans).
func (s *Store) deleteAll(ctx context.Context) (int, error) {
	n := 0
	iter := s.rdb.Scan(ctx, 0, s.prefix+"*", 500).Iterator()
	for iter.Next(ctx) {
		if err := s.rdb.Del(ctx, iter.Val()).Err(); err != nil {
			return n, err
		}
		n++
	}
	return n, iter.Err()
}

func newEnv(tb testing.TB) roomtest.Env {
	s := newTestStore(tb)
	return roomtest.Env{Presence: s, Directory: s, Limiter: s, Now: time.Now, Advance: func(time.Duration) {}}
}

func TestContract(t *testing.T) { roomtest.Run(t, newEnv) }

func BenchmarkLimiterAllow(b *testing.B)  { roomtest.BenchLimiterAllow(b, newEnv) }
func BenchmarkPresenceCount(b *testing.B) { roomtest.BenchPresenceCount(b, newEnv) }

func TestNewBadURL(t *testing.T) {
	for _, url := range []string{"", "http://127.0.0.1:6379", "redis://127.0.0.1:6379/notadb"} {
		if s, err := New(t.Context(), url); err == nil {
			s.Close()
			t.Errorf("New(%q): no error", url)
		}
	}
}

func TestNewUnreachable(t *testing.T) {
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
	defer cancel()
	// Port 1 on loopback: nothing listens there, so the ping fails fast.
	if s, err := New(ctx, "redis://127.0.0.1:1/0"); err == nil {
		s.Close()
		t.Fatal("New: no error for a Redis that is not there")
	}
}

// Every presence and limiter key carries a TTL, so a dead node or an idle key
// cannot make Redis grow; the directory's two keys are swept by score.
func TestKeysExpire(t *testing.T) {
	s := newTestStore(t)
	ctx := t.Context()
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(s.Join(ctx, "room-1", "node-a", "s1"))
	must(s.Join(ctx, "room-2", "node-a", "s2"))
	must(s.Renew(ctx, "node-b", time.Minute))
	must(s.Join(ctx, "room-1", "node-b", "s3"))
	_, _, err := s.Allow(ctx, "k", 1, 5)
	must(err)
	iter := s.rdb.Scan(ctx, 0, s.prefix+"*", 100).Iterator()
	n := 0
	for iter.Next(ctx) {
		n++
		ttl, err := s.rdb.PTTL(ctx, iter.Val()).Result()
		must(err)
		if ttl <= 0 {
			t.Errorf("key %s has no TTL (%v)", iter.Val(), ttl)
		}
	}
	must(iter.Err())
	// 2 leases, 2 rooms sets, 3 sessions sets, 2 nodes sets, 1 bucket
	if want := 10; n != want {
		t.Errorf("%d keys, want %d", n, want)
	}
}
