package redisstore

import (
	"context"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/onair-live/onair/room"
)

// Key builders; see doc.go for the layout.
func (s *Store) leaseKey(node string) string { return s.prefix + "presence:lease:" + node }
func (s *Store) roomsKey(node string) string { return s.prefix + "presence:rooms:" + node }
func (s *Store) nodesKey(id room.ID) string  { return s.prefix + "presence:nodes:" + string(id) }
func (s *Store) sessionsPrefix(id room.ID) string {
	return s.prefix + "presence:sessions:" + string(id) + ":"
}

// luaPurge deletes what a node whose lease is gone left behind.
// KEYS[1] lease, KEYS[2] rooms; ARGV[1] node, ARGV[2] key prefix.
const luaPurge = `
local function purge()
  for _, r in ipairs(redis.call('SMEMBERS', KEYS[2])) do
    redis.call('DEL', ARGV[2] .. 'presence:sessions:' .. r .. ':' .. ARGV[1])
    redis.call('SREM', ARGV[2] .. 'presence:nodes:' .. r, ARGV[1])
  end
  redis.call('DEL', KEYS[2])
end
local function extend(key, ttl)
  local cur = redis.call('PTTL', key)
  if cur == -1 or (cur >= 0 and cur < ttl) then redis.call('PEXPIRE', key, ttl) end
end
`

// KEYS[3] sessions, KEYS[4] nodes; ARGV[3] room, ARGV[4] session, ARGV[5] new lease ms.
var joinScript = redis.NewScript(luaPurge + `
local ttl = redis.call('PTTL', KEYS[1])
if ttl <= 0 then
  purge()
  ttl = tonumber(ARGV[5])
  redis.call('SET', KEYS[1], '1', 'PX', ttl)
end
redis.call('SADD', KEYS[2], ARGV[3])
redis.call('PEXPIRE', KEYS[2], ttl)
redis.call('SADD', KEYS[3], ARGV[4])
redis.call('PEXPIRE', KEYS[3], ttl)
redis.call('SADD', KEYS[4], ARGV[1])
extend(KEYS[4], ttl)
return 1
`)

// ARGV[3] ttl ms.
var renewScript = redis.NewScript(luaPurge + `
local ttl = tonumber(ARGV[3])
if redis.call('PTTL', KEYS[1]) <= 0 then purge() end
redis.call('SET', KEYS[1], '1', 'PX', ttl)
for _, r in ipairs(redis.call('SMEMBERS', KEYS[2])) do
  if redis.call('PEXPIRE', ARGV[2] .. 'presence:sessions:' .. r .. ':' .. ARGV[1], ttl) == 0 then
    redis.call('SREM', KEYS[2], r)
  else
    extend(ARGV[2] .. 'presence:nodes:' .. r, ttl)
  end
end
redis.call('PEXPIRE', KEYS[2], ttl)
return 1
`)

// KEYS[1] rooms, KEYS[2] sessions, KEYS[3] nodes; ARGV[1] room, ARGV[2] node, ARGV[3] session.
var leaveScript = redis.NewScript(`
if redis.call('SREM', KEYS[2], ARGV[3]) == 1 and redis.call('EXISTS', KEYS[2]) == 0 then
  redis.call('SREM', KEYS[1], ARGV[1])
  redis.call('SREM', KEYS[3], ARGV[2])
end
return 1
`)

// KEYS[1] nodes; ARGV[1] the room's sessions key prefix.
var countScript = redis.NewScript(`
local total = 0
for _, node in ipairs(redis.call('SMEMBERS', KEYS[1])) do
  local n = redis.call('SCARD', ARGV[1] .. node)
  if n == 0 then redis.call('SREM', KEYS[1], node) else total = total + n end
end
return total
`)

// Join implements room.Presence.
func (s *Store) Join(ctx context.Context, id room.ID, node, session string) error {
	if err := checkID(id); err != nil {
		return err
	}
	if node == "" || session == "" {
		return errEmpty
	}
	keys := []string{s.leaseKey(node), s.roomsKey(node), s.sessionsPrefix(id) + node, s.nodesKey(id)}
	return joinScript.Run(ctx, s.rdb, keys, node, s.prefix, string(id), session, ms(s.leaseTTL)).Err()
}

// Leave implements room.Presence.
func (s *Store) Leave(ctx context.Context, id room.ID, node, session string) error {
	if err := checkID(id); err != nil {
		return err
	}
	if node == "" || session == "" {
		return errEmpty
	}
	keys := []string{s.roomsKey(node), s.sessionsPrefix(id) + node, s.nodesKey(id)}
	return leaveScript.Run(ctx, s.rdb, keys, string(id), node, session).Err()
}

// Renew implements room.Presence.
func (s *Store) Renew(ctx context.Context, node string, ttl time.Duration) error {
	if node == "" {
		return errEmpty
	}
	if err := checkTTL(ttl); err != nil {
		return err
	}
	keys := []string{s.leaseKey(node), s.roomsKey(node)}
	return renewScript.Run(ctx, s.rdb, keys, node, s.prefix, ms(ttl)).Err()
}

// Count implements room.Presence.
func (s *Store) Count(ctx context.Context, id room.ID) (int, error) {
	if err := checkID(id); err != nil {
		return 0, err
	}
	return countScript.Run(ctx, s.rdb, []string{s.nodesKey(id)}, s.sessionsPrefix(id)).Int()
}
