package roomtest

import (
	"context"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/onair-live/onair/room"
)

// Env is one fresh, empty implementation under test and its clock.
type Env struct {
	Presence  room.Presence
	Directory room.Directory
	Limiter   room.Limiter
	// Now reads the clock the store uses.
	Now func() time.Time
	// Advance moves that clock forward; a no-op for a store on real time.
	Advance func(time.Duration)
}

// Factory returns a fresh Env for one test; it registers its own cleanup on tb.
type Factory func(tb testing.TB) Env

// Run runs the whole contract suite.
func Run(t *testing.T, newEnv Factory) {
	t.Run("Presence", func(t *testing.T) { RunPresence(t, newEnv) })
	t.Run("Directory", func(t *testing.T) { RunDirectory(t, newEnv) })
	t.Run("Limiter", func(t *testing.T) { RunLimiter(t, newEnv) })
}

// TTLs the suite uses: long never lapses during a test, short lapses soon on a
// real clock; a manual clock is advanced past it.
const (
	long  = time.Hour
	short = 150 * time.Millisecond
)

// Clock is a manual clock, safe for concurrent use.
type Clock struct {
	mu sync.Mutex
	t  time.Time
}

// NewClock returns a clock stopped at a fixed instant.
func NewClock() *Clock {
	return &Clock{t: time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)}
}

// Now returns the clock's time.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

// Advance moves the clock forward by d.
func (c *Clock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// Eventually polls cond until it holds and reports whether it did. The
// 10-second limit guards against a hang; it is not a timing threshold: a correct
// store meets cond within a few TTLs, and at once on a manual clock.
func Eventually(cond func() bool) bool {
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(2 * time.Millisecond)
	}
	return true
}

// ctx returns the test's context with a guard timeout.
func ctx(tb testing.TB) context.Context {
	c, cancel := context.WithTimeout(tb.Context(), 30*time.Second)
	tb.Cleanup(cancel)
	return c
}

// cancelled returns a context that is already cancelled.
func cancelled() context.Context {
	c, cancel := context.WithCancel(context.Background())
	cancel()
	return c
}

// noLeak fails the test if a goroutine started by this package outlives it.
func noLeak(t *testing.T) {
	t.Cleanup(func() {
		t.Helper()
		var buf []byte
		if !Eventually(func() bool {
			buf = make([]byte, 1<<20)
			buf = buf[:runtime.Stack(buf, true)]
			return !strings.Contains(string(buf), "created by github.com/onair-live/onair/room/roomtest.")
		}) {
			t.Errorf("goroutines started by the suite outlived it:\n%s", buf)
		}
	})
}

// parallel runs f(i) for i in [0,n) on n goroutines and waits for them.
func parallel(n int, f func(i int)) {
	var wg sync.WaitGroup
	wg.Add(n)
	for i := range n {
		go func() {
			defer wg.Done()
			f(i)
		}()
	}
	wg.Wait()
}
