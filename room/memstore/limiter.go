package memstore

import (
	"context"
	"errors"
	"fmt"
	"math"
	"sync"
	"time"
)

var errLimit = errors.New("memstore: limiter rate must be positive and finite, burst at least 1")

// maxInterval caps the time one token takes (a rate below one a year is one a year),
// and maxTau the bucket depth in time, so the int64 arithmetic cannot overflow.
const (
	maxInterval = int64(365 * 24 * time.Hour)
	maxTau      = int64(1) << 61
)

// limiter is the state behind room.Limiter; mu guards everything in it.
// A bucket is kept as its theoretical arrival time (GCRA): the instant, in
// clock nanoseconds, at which it would be full again.
type limiter struct {
	mu      sync.Mutex
	buckets map[string]int64
	sweep   sweeper
}

func (l *limiter) init() { l.buckets = make(map[string]int64) }

// gcra turns rate and burst into the time one token takes and the bucket depth.
func gcra(rate float64, burst int) (interval, tau int64, err error) {
	if !(rate > 0) || math.IsInf(rate, 1) || burst < 1 {
		return 0, 0, fmt.Errorf("%w: rate %v, burst %d", errLimit, rate, burst)
	}
	iv := math.Ceil(float64(time.Second) / rate)
	interval = int64(min(max(iv, 1), float64(maxInterval)))
	tau = maxTau
	if int64(burst) < maxTau/interval {
		tau = interval * int64(burst)
	}
	return interval, tau, nil
}

// Allow implements room.Limiter.
func (s *Store) Allow(ctx context.Context, key string, rate float64, burst int) (bool, time.Duration, error) {
	if err := ctx.Err(); err != nil {
		return false, 0, err
	}
	interval, tau, err := gcra(rate, burst)
	if err != nil {
		return false, 0, err
	}
	l := &s.lim
	l.mu.Lock()
	defer l.mu.Unlock()
	nowT := s.now()
	now := nowT.UnixNano()
	if l.sweep.due(nowT, s.sweepEvery) {
		for k, tat := range l.buckets {
			if tat <= now {
				delete(l.buckets, k)
			}
		}
	}
	tat := max(l.buckets[key], now)
	next := tat + interval
	if allowAt := next - tau; now < allowAt {
		return false, time.Duration(allowAt - now), nil
	}
	l.buckets[key] = next
	return true, 0, nil
}
