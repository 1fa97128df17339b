package redisstore

import (
	"context"
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/redis/go-redis/v9"
)

var errLimit = errors.New("redisstore: limiter rate must be positive and finite, burst at least 1")

// maxInterval caps the time one token takes (a rate below one a year is one a
// year) and maxTau the bucket depth, in µs, so Lua's doubles stay exact.
const (
	maxInterval = int64(365 * 24 * time.Hour / time.Microsecond)
	maxTau      = int64(1) << 51
)

// GCRA on Redis TIME in µs. KEYS[1] bucket; ARGV[1] interval µs, ARGV[2] tau µs.
// Returns {1, 0} or {0, µs until a token is free}.
var allowScript = redis.NewScript(`
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local tat = tonumber(redis.call('GET', KEYS[1]) or '0')
if tat < now then tat = now end
local nxt = tat + tonumber(ARGV[1])
local at = nxt - tonumber(ARGV[2])
if now < at then return {0, at - now} end
redis.call('SET', KEYS[1], string.format('%d', nxt), 'PX', math.ceil((nxt - now) / 1000))
return {1, 0}
`)

// gcra turns rate and burst into the µs one token takes and the bucket depth.
func gcra(rate float64, burst int) (interval, tau int64, err error) {
	if !(rate > 0) || math.IsInf(rate, 1) || burst < 1 {
		return 0, 0, fmt.Errorf("%w: rate %v, burst %d", errLimit, rate, burst)
	}
	iv := math.Ceil(1e6 / rate)
	interval = int64(min(max(iv, 1), float64(maxInterval)))
	tau = maxTau
	if int64(burst) < maxTau/interval {
		tau = interval * int64(burst)
	}
	return interval, tau, nil
}

// Allow implements room.Limiter. A rate above 1e6 per second counts as 1e6.
func (s *Store) Allow(ctx context.Context, key string, rate float64, burst int) (bool, time.Duration, error) {
	interval, tau, err := gcra(rate, burst)
	if err != nil {
		return false, 0, err
	}
	r, err := allowScript.Run(ctx, s.rdb, []string{s.prefix + "limit:" + key}, interval, tau).Int64Slice()
	if err != nil {
		return false, 0, err
	}
	if len(r) != 2 {
		return false, 0, fmt.Errorf("redisstore: limiter script answered %v", r)
	}
	return r[0] == 1, time.Duration(r[1]) * time.Microsecond, nil
}
