package roomtest

import (
	"context"
	"errors"
	"math"
	"sync/atomic"
	"testing"
	"time"
)

// RunLimiter runs the room.Limiter cases.
func RunLimiter(t *testing.T, newEnv Factory) {
	cases := []struct {
		name string
		f    func(t *testing.T, e Env)
	}{
		{"BurstThenRefuse", limBurst},
		{"RetryAfterIsHonest", limRetryAfter},
		{"NoFasterThanRate", limRate},
		{"KeysAreIndependent", limKeys},
		{"ConcurrentNeverExceedsBurst", limConcurrent},
		{"BadInput", limBadInput},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) { c.f(t, newEnv(t)) })
	}
}

// slow refills one token per 1000 s: nothing refills during a test.
const slow = 1e-3

func allow(t *testing.T, e Env, key string, rate float64, burst int) (bool, time.Duration) {
	t.Helper()
	ok, retry, err := e.Limiter.Allow(ctx(t), key, rate, burst)
	if err != nil {
		t.Fatalf("Allow(%s, %v, %d): %v", key, rate, burst, err)
	}
	if ok && retry != 0 {
		t.Fatalf("Allow(%s) = true with retryAfter %v, want 0", key, retry)
	}
	return ok, retry
}

// perToken is how long one token takes at rate.
func perToken(rate float64) time.Duration { return time.Duration(float64(time.Second) / rate) }

// drain takes the burst, which a fresh key must grant, then takes tokens until
// one is refused, and returns that refusal's retryAfter. It fails if retryAfter
// is outside (0, one token's time].
func drain(t *testing.T, e Env, key string, rate float64, burst int) time.Duration {
	t.Helper()
	for i := range burst {
		if ok, retry := allow(t, e, key, rate, burst); !ok {
			t.Fatalf("call %d of a burst of %d refused (retryAfter %v)", i+1, burst, retry)
		}
	}
	var retry time.Duration
	if !Eventually(func() bool {
		var ok bool
		ok, retry = allow(t, e, key, rate, burst)
		return !ok
	}) {
		t.Fatalf("a drained bucket at %v/s never refused", rate)
	}
	// Rounding up to a whole microsecond (Redis TIME) may add up to 1µs.
	if retry <= 0 || retry > perToken(rate)+time.Microsecond {
		t.Fatalf("retryAfter = %v, want in (0, %v]", retry, perToken(rate))
	}
	return retry
}

func limBurst(t *testing.T, e Env) {
	first := drain(t, e, "k", slow, 3)
	ok, again := allow(t, e, "k", slow, 3)
	if ok {
		t.Fatal("allowed after the burst with nothing refilled")
	}
	if again > first { // a refusal takes no token, and time only moves on
		t.Fatalf("retryAfter grew from %v to %v", first, again)
	}
}

func limRetryAfter(t *testing.T, e Env) {
	const rate, burst = 10, 2
	retry := drain(t, e, "k", rate, burst)
	e.Advance(retry)
	if !Eventually(func() bool { ok, _ := allow(t, e, "k", rate, burst); return ok }) {
		t.Fatalf("still refused after the retryAfter it gave (%v)", retry)
	}
}

// Over any window measured on the store's clock, a bucket that started full
// grants at most burst + rate × window tokens.
func limRate(t *testing.T, e Env) {
	const rate, burst, more = 20, 3, 5
	step := perToken(rate) / 3
	t0 := e.Now()
	granted := 0
	if !Eventually(func() bool {
		e.Advance(step)
		if ok, _ := allow(t, e, "k", rate, burst); ok {
			granted++
		}
		return granted == burst+more
	}) {
		t.Fatalf("granted %d tokens, want %d at %v/s", granted, burst+more, rate)
	}
	elapsed := e.Now().Sub(t0)
	if limit := burst + rate*elapsed.Seconds(); float64(granted) > limit {
		t.Fatalf("granted %d tokens in %v, more than burst + rate × window = %.2f", granted, elapsed, limit)
	}
}

func limKeys(t *testing.T, e Env) {
	drain(t, e, "a", slow, 1)
	drain(t, e, "b", slow, 2)
	if ok, _ := allow(t, e, "a", slow, 1); ok {
		t.Fatal("key a refilled")
	}
	drain(t, e, "c", slow, 1)
}

func limConcurrent(t *testing.T, e Env) {
	noLeak(t)
	const workers, each, burst = 16, 10, 25
	c := ctx(t)
	var allowed, bad atomic.Int64
	errs := make(chan error, workers)
	parallel(workers, func(int) {
		for range each {
			ok, retry, err := e.Limiter.Allow(c, "shared", slow, burst)
			switch {
			case err != nil:
				errs <- err
				return
			case ok:
				allowed.Add(1)
			case retry <= 0:
				bad.Add(1)
			}
		}
	})
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	if n := allowed.Load(); n != burst {
		t.Fatalf("%d goroutines × %d calls: %d allowed, want exactly the burst %d", workers, each, n, burst)
	}
	if n := bad.Load(); n != 0 {
		t.Fatalf("%d refusals without a positive retryAfter", n)
	}
}

func limBadInput(t *testing.T, e Env) {
	c := ctx(t)
	for _, p := range []struct {
		rate  float64
		burst int
	}{{0, 1}, {-1, 1}, {math.NaN(), 1}, {math.Inf(1), 1}, {1, 0}, {1, -1}} {
		if ok, _, err := e.Limiter.Allow(c, "k", p.rate, p.burst); err == nil || ok {
			t.Errorf("Allow(rate %v, burst %d) = %v, %v; want an error", p.rate, p.burst, ok, err)
		}
	}
	if _, _, err := e.Limiter.Allow(cancelled(), "k", 1, 1); !errors.Is(err, context.Canceled) {
		t.Errorf("Allow with a cancelled ctx: %v, want context.Canceled", err)
	}
	drain(t, e, "k", slow, 1) // nothing above took a token
}
