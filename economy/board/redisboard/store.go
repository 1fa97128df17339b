package redisboard

import (
	"context"
	"errors"
	"fmt"
	"iter"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/onair-live/onair/economy/board"
)

var _ board.Store = (*Store)(nil)

// DefaultPrefix starts every key unless WithPrefix says otherwise.
const DefaultPrefix = "onair:board:"

// Store is the Redis board.Store. It is safe for concurrent use.
type Store struct {
	rdb    *redis.Client
	prefix string
	cal    *board.Calendar
}

// Option configures a Store.
type Option func(*Store)

// WithPrefix sets the prefix of every key (default DefaultPrefix).
func WithPrefix(p string) Option { return func(s *Store) { s.prefix = p } }

// New connects to the Redis at url (redis://[user:password@]host:port/db, or
// rediss:// for TLS) and pings it under ctx; cfg is checked as
// board.NewCalendar does.
func New(ctx context.Context, url string, cfg board.Config, opts ...Option) (*Store, error) {
	cal, err := board.NewCalendar(cfg)
	if err != nil {
		return nil, err
	}
	o, err := redis.ParseURL(url)
	if err != nil {
		return nil, fmt.Errorf("redisboard: bad Redis URL: %w", err)
	}
	s := &Store{prefix: DefaultPrefix, cal: cal}
	for _, opt := range opts {
		opt(s)
	}
	s.rdb = redis.NewClient(o)
	if err := s.rdb.Ping(ctx).Err(); err != nil {
		_ = s.rdb.Close()
		return nil, fmt.Errorf("redisboard: ping Redis at %s db %d: %w", o.Addr, o.DB, err)
	}
	return s, nil
}

// Close closes the connections to Redis.
func (s *Store) Close() error { return s.rdb.Close() }

// luaBoard defines board(path, now): the key of path in the current
// generation, after deleting it if it is a broadcast board (now is not ”)
// whose deadline has passed. ARGV[1] is the prefix.
const luaBoard = `
local base = ARGV[1] .. (redis.call('GET', ARGV[1] .. 'gen') or '0') .. ':'
local function board(path, now)
  local k = base .. path
  if now ~= '' and tonumber(redis.call('GET', k .. ':until') or '0') <= tonumber(now) then
    redis.call('DEL', k, k .. ':until')
  end
  return k
end
`

// ARGV[2] board.MaxScore, ARGV[3] now ms, ARGV[4] the credit's ID or ”,
// ARGV[5] until when to remember it (ms), ARGV[6] its PX; then 5 per
// increment: path, member, amount, PX ms (0: none), deadline ms for a
// broadcast board or ”. A broadcast increment counts if its board is live, or
// if its own deadline is after now (see board.Calendar.Plan). Returns 0, -1 if
// the ID was taken within the window (nothing applied), or the 1-based index
// of the increment that would pass MaxScore (nothing applied).
var addScript = redis.NewScript(luaBoard + `
local first = 7
local seen = false
if ARGV[4] ~= '' then
  seen = base .. 'seen:' .. ARGV[4]
  if tonumber(redis.call('GET', seen) or '0') > tonumber(ARGV[3]) then return -1 end
end
local max, now, n, keys = tonumber(ARGV[2]), tonumber(ARGV[3]), (#ARGV - first + 1) / 5, {}
for i = 1, n do
  local o = first + (i - 1) * 5
  local k = base .. ARGV[o]
  if ARGV[o + 4] ~= '' then
    k = board(ARGV[o], ARGV[3])
    if tonumber(ARGV[o + 4]) <= now and redis.call('EXISTS', k) == 0 then k = false end
  end
  if k then
    local cur = tonumber(redis.call('ZSCORE', k, ARGV[o + 1]) or '0')
    if tonumber(ARGV[o + 2]) > max + cur then return i end
  end
  keys[i] = k
end
for i = 1, n do
  local o, k = first + (i - 1) * 5, keys[i]
  if k then
    redis.call('ZINCRBY', k, '-' .. ARGV[o + 2], ARGV[o + 1])
    local ttl, deadline = ARGV[o + 3], ARGV[o + 4]
    if deadline ~= '' then
      if tonumber(deadline) > tonumber(redis.call('GET', k .. ':until') or '0') then
        redis.call('SET', k .. ':until', deadline, 'PX', ttl)
        redis.call('PEXPIRE', k, ttl)
      end
    elseif ttl ~= '0' then
      redis.call('PEXPIRE', k, ttl)
    end
  end
end
if seen then redis.call('SET', seen, ARGV[5], 'PX', ARGV[6]) end
return 0
`)

// ARGV[2] path, ARGV[3] now ms for a broadcast board or ”, ARGV[4] last index.
var topScript = redis.NewScript(luaBoard + `
return redis.call('ZRANGE', board(ARGV[2], ARGV[3]), 0, ARGV[4], 'WITHSCORES')
`)

// ARGV[2] path, ARGV[3] now ms for a broadcast board or ”, ARGV[4] member.
// Returns {0-based rank, negated score} or nil.
var rankScript = redis.NewScript(luaBoard + `
local k = board(ARGV[2], ARGV[3])
local score = redis.call('ZSCORE', k, ARGV[4])
if not score then return false end
return {redis.call('ZRANK', k, ARGV[4]), score}
`)

// Add implements board.Store.
func (s *Store) Add(ctx context.Context, c board.Credit) error {
	now := s.cal.Now()
	incs, err := s.cal.Plan(c, now)
	if err != nil {
		return err
	}
	until := s.cal.Remember(now)
	args := make([]any, 0, 6+5*len(incs))
	args = append(args, s.prefix, board.MaxScore, now.UnixMilli(), c.ID, until.UnixMilli(), pxMillis(until, now))
	for _, in := range incs {
		ttl, until := expiry(in.Key, in.Deadline, now)
		args = append(args, in.Key.Path(), in.Member, in.Amount, ttl, until)
	}
	i, err := addScript.Run(ctx, s.rdb, nil, args...).Int()
	switch {
	case err != nil:
		return fmt.Errorf("redisboard: add: %w", err)
	case i == -1: // taken within the window
		return nil
	case i > 0 && i <= len(incs):
		in := incs[i-1]
		return fmt.Errorf("%w: adding %d to %s on %s", board.ErrScoreLimit, in.Amount, in.Member, in.Key.Path())
	case i != 0:
		return fmt.Errorf("redisboard: add script answered %d", i)
	}
	return nil
}

// expiry gives the PX of a board with this deadline written at now (0: none)
// and, for a broadcast board, its deadline in Unix ms (else "").
func expiry(k board.Key, deadline, now time.Time) (ttl int64, until string) {
	if deadline.IsZero() {
		return 0, ""
	}
	ttl = pxMillis(deadline, now)
	if k.Kind == board.RoomBroadcast {
		until = strconv.FormatInt(deadline.UnixMilli(), 10)
	}
	return ttl, until
}

// pxMillis is the PX of a key that lives until deadline, written at now: at least 1.
func pxMillis(deadline, now time.Time) int64 { return max(deadline.Sub(now).Milliseconds(), 1) }

// locate checks b and returns its path and the now argument of the scripts,
// or ok false if b is a period board that has expired.
func (s *Store) locate(ctx context.Context, b board.Board) (path, now string, ok bool, err error) {
	if err := ctx.Err(); err != nil {
		return "", "", false, err
	}
	t := s.cal.Now()
	k, deadline, err := s.cal.Locate(b, t)
	if err != nil || board.Expired(deadline, t) {
		return "", "", false, err
	}
	if k.Kind == board.RoomBroadcast {
		now = strconv.FormatInt(t.UnixMilli(), 10)
	}
	return k.Path(), now, true, nil
}

// Top implements board.Store.
func (s *Store) Top(ctx context.Context, b board.Board, n int) ([]board.Entry, error) {
	if err := board.CheckTop(n); err != nil {
		return nil, err
	}
	path, now, ok, err := s.locate(ctx, b)
	if !ok {
		return nil, err
	}
	vals, err := topScript.Run(ctx, s.rdb, nil, s.prefix, path, now, n-1).StringSlice()
	if err != nil {
		return nil, fmt.Errorf("redisboard: top: %w", err)
	}
	out := make([]board.Entry, 0, len(vals)/2)
	for i := 0; i+1 < len(vals); i += 2 {
		score, err := parseScore(vals[i+1])
		if err != nil {
			return nil, err
		}
		out = append(out, board.Entry{ID: vals[i], Score: score, Rank: len(out) + 1})
	}
	return out, nil
}

// Rank implements board.Store.
func (s *Store) Rank(ctx context.Context, b board.Board, id string) (board.Entry, bool, error) {
	if err := board.CheckMember(id); err != nil {
		return board.Entry{}, false, err
	}
	path, now, ok, err := s.locate(ctx, b)
	if !ok {
		return board.Entry{}, false, err
	}
	r, err := rankScript.Run(ctx, s.rdb, nil, s.prefix, path, now, id).Slice()
	if errors.Is(err, redis.Nil) {
		return board.Entry{}, false, nil
	}
	if err != nil {
		return board.Entry{}, false, fmt.Errorf("redisboard: rank: %w", err)
	}
	if len(r) != 2 {
		return board.Entry{}, false, fmt.Errorf("redisboard: rank script answered %v", r)
	}
	rank, okRank := r[0].(int64)
	str, okScore := r[1].(string)
	if !okRank || !okScore {
		return board.Entry{}, false, fmt.Errorf("redisboard: rank script answered %v", r)
	}
	score, err := parseScore(str)
	if err != nil {
		return board.Entry{}, false, err
	}
	return board.Entry{ID: id, Score: score, Rank: int(rank) + 1}, true, nil
}

// parseScore turns a stored, negated score back into the board's.
func parseScore(s string) (int64, error) {
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || f > 0 || f < -float64(board.MaxScore) {
		return 0, fmt.Errorf("redisboard: stored score %q is not a board score", s)
	}
	return -int64(f), nil
}

// ARGV[1] prefix. Takes a generation above the current one.
var nextGenScript = redis.NewScript(`
local g = redis.call('INCR', ARGV[1] .. 'nextgen')
local cur = tonumber(redis.call('GET', ARGV[1] .. 'gen') or '0')
if g <= cur then
  g = cur + 1
  redis.call('SET', ARGV[1] .. 'nextgen', g)
end
return g
`)

// ARGV[1] prefix, ARGV[2] the new generation. Returns the one it replaced, or
// -1 if a newer one is current already.
var switchScript = redis.NewScript(`
local cur = tonumber(redis.call('GET', ARGV[1] .. 'gen') or '0')
if tonumber(ARGV[2]) <= cur then return -1 end
redis.call('SET', ARGV[1] .. 'gen', ARGV[2])
return cur
`)

// Batches that Rebuild writes in.
const (
	zaddBatch = 512  // members per ZADD
	pipeBatch = 1024 // commands per round trip
)

// Rebuild implements board.Store.
func (s *Store) Rebuild(ctx context.Context, credits iter.Seq2[board.Credit, error]) error {
	now := s.cal.Now()
	sums, err := s.cal.Sum(ctx, credits, now)
	if err != nil {
		return fmt.Errorf("redisboard: rebuild: %w", err)
	}
	gen, err := nextGenScript.Run(ctx, s.rdb, nil, s.prefix).Int64()
	if err != nil {
		return fmt.Errorf("redisboard: rebuild: take a generation: %w", err)
	}
	if err := s.write(ctx, gen, sums, now); err != nil {
		return s.abandon(ctx, gen, fmt.Errorf("redisboard: rebuild: write generation %d: %w", gen, err))
	}
	old, err := switchScript.Run(ctx, s.rdb, nil, s.prefix, gen).Int64()
	if err != nil {
		return s.abandon(ctx, gen, fmt.Errorf("redisboard: rebuild: switch to generation %d: %w", gen, err))
	}
	if old < 0 {
		return s.abandon(ctx, gen, fmt.Errorf("redisboard: rebuild: a newer rebuild finished first; generation %d dropped", gen))
	}
	if _, err := s.drop(ctx, func(g int64) bool { return g < gen }); err != nil {
		return fmt.Errorf("redisboard: rebuild done (generation %d), but deleting older ones: %w", gen, err)
	}
	return nil
}

// write puts sums under generation gen.
func (s *Store) write(ctx context.Context, gen int64, sums board.Sums, now time.Time) error {
	base := s.prefix + strconv.FormatInt(gen, 10) + ":"
	p := s.rdb.Pipeline()
	flush := func(force bool) error {
		if p.Len() == 0 || (!force && p.Len() < pipeBatch) {
			return nil
		}
		_, err := p.Exec(ctx)
		return err
	}
	for id, until := range sums.IDs {
		p.Set(ctx, base+"seen:"+id, until.UnixMilli(), time.Duration(pxMillis(until, now))*time.Millisecond)
		if err := flush(false); err != nil {
			return err
		}
	}
	for k, t := range sums.Boards {
		key := base + k.Path()
		zs := make([]redis.Z, 0, min(len(t.Scores), zaddBatch))
		for id, score := range t.Scores {
			zs = append(zs, redis.Z{Member: id, Score: -float64(score)})
			if len(zs) == zaddBatch {
				p.ZAdd(ctx, key, zs...)
				zs = make([]redis.Z, 0, zaddBatch)
			}
		}
		if len(zs) > 0 {
			p.ZAdd(ctx, key, zs...)
		}
		if ttl, until := expiry(k, t.Deadline, now); until != "" {
			p.Set(ctx, key+":until", until, time.Duration(ttl)*time.Millisecond)
			p.PExpire(ctx, key, time.Duration(ttl)*time.Millisecond)
		} else if ttl > 0 {
			p.PExpire(ctx, key, time.Duration(ttl)*time.Millisecond)
		}
		if err := flush(false); err != nil {
			return err
		}
	}
	return flush(true)
}

// abandon deletes what a failed rebuild wrote, even when ctx has ended, and
// returns err with any trouble doing so.
func (s *Store) abandon(ctx context.Context, gen int64, err error) error {
	c, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
	defer cancel()
	if _, derr := s.drop(c, func(g int64) bool { return g == gen }); derr != nil {
		return fmt.Errorf("%w (and deleting its keys: %v)", err, derr)
	}
	return err
}

// drop deletes the board keys of every generation that doomed picks and
// returns how many it deleted.
func (s *Store) drop(ctx context.Context, doomed func(gen int64) bool) (int, error) {
	n := 0
	iter := s.rdb.Scan(ctx, 0, globEscape(s.prefix)+"[0-9]*", 1000).Iterator()
	var batch []string
	del := func() error {
		if len(batch) == 0 {
			return nil
		}
		err := s.rdb.Unlink(ctx, batch...).Err()
		n += len(batch)
		batch = batch[:0]
		return err
	}
	for iter.Next(ctx) {
		key := iter.Val()
		g, _, _ := strings.Cut(strings.TrimPrefix(key, s.prefix), ":")
		if gen, err := strconv.ParseInt(g, 10, 64); err == nil && doomed(gen) {
			batch = append(batch, key)
		}
		if len(batch) == 1000 {
			if err := del(); err != nil {
				return n, err
			}
		}
	}
	if err := iter.Err(); err != nil {
		return n, err
	}
	return n, del()
}

// globEscape quotes the characters that SCAN MATCH would read as a pattern.
func globEscape(s string) string {
	var b strings.Builder
	for _, c := range s {
		if strings.ContainsRune(`*?[]\`, c) {
			b.WriteByte('\\')
		}
		b.WriteRune(c)
	}
	return b.String()
}
