package redisstore

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/onair-live/onair/room"
)

func (s *Store) dirKeys() []string {
	return []string{s.prefix + "directory:rooms", s.prefix + "directory:deadlines"}
}

// luaSweep sets now (Unix ms, Redis TIME) and deletes the expired entries.
// KEYS[1] rooms hash, KEYS[2] deadlines zset.
const luaSweep = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
for _, r in ipairs(redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', now)) do
  redis.call('HDEL', KEYS[1], r)
end
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', now)
`

// ARGV[1] room, ARGV[2] JSON entry, ARGV[3] ttl ms.
var setLiveScript = redis.NewScript(luaSweep + `
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
redis.call('ZADD', KEYS[2], now + tonumber(ARGV[3]), ARGV[1])
return 1
`)

var listScript = redis.NewScript(luaSweep + `
return redis.call('HVALS', KEYS[1])
`)

// SetLive implements room.Directory. It replaces the room's entry, if any.
func (s *Store) SetLive(ctx context.Context, r room.LiveRoom, ttl time.Duration) error {
	if err := checkID(r.ID); err != nil {
		return err
	}
	if err := checkTTL(ttl); err != nil {
		return err
	}
	r.StartedAt = r.StartedAt.UTC()
	b, err := json.Marshal(r)
	if err != nil {
		return fmt.Errorf("redisstore: encode live room %s: %w", r.ID, err)
	}
	return setLiveScript.Run(ctx, s.rdb, s.dirKeys(), string(r.ID), b, ms(ttl)).Err()
}

// Remove implements room.Directory; removing a room that is not listed is not an error.
func (s *Store) Remove(ctx context.Context, id room.ID) error {
	if err := checkID(id); err != nil {
		return err
	}
	k := s.dirKeys()
	_, err := s.rdb.TxPipelined(ctx, func(p redis.Pipeliner) error {
		p.HDel(ctx, k[0], string(id))
		p.ZRem(ctx, k[1], string(id))
		return nil
	})
	return err
}

// List implements room.Directory: the live rooms sorted by ID.
func (s *Store) List(ctx context.Context) ([]room.LiveRoom, error) {
	vals, err := listScript.Run(ctx, s.rdb, s.dirKeys()).StringSlice()
	if err != nil {
		return nil, err
	}
	out := make([]room.LiveRoom, 0, len(vals))
	for _, v := range vals {
		var r room.LiveRoom
		if err := json.Unmarshal([]byte(v), &r); err != nil {
			return nil, fmt.Errorf("redisstore: decode live room %q: %w", v, err)
		}
		out = append(out, r)
	}
	slices.SortFunc(out, func(a, b room.LiveRoom) int { return strings.Compare(string(a.ID), string(b.ID)) })
	return out, nil
}
