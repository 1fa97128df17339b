package redisstore

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/onair-live/onair/room"
)

var (
	_ room.Presence  = (*Store)(nil)
	_ room.Directory = (*Store)(nil)
	_ room.Limiter   = (*Store)(nil)
)

// Defaults for the options.
const (
	DefaultPrefix   = "onair:"
	DefaultLeaseTTL = 30 * time.Second
)

// Store is the Redis hot state. It is safe for concurrent use.
type Store struct {
	rdb      *redis.Client
	prefix   string
	leaseTTL time.Duration
}

// Option configures a Store.
type Option func(*Store)

// WithPrefix sets the prefix of every key (default DefaultPrefix).
func WithPrefix(p string) Option { return func(s *Store) { s.prefix = p } }

// WithLeaseTTL sets the lease a node gets when it Joins before any Renew,
// or after its lease lapsed. Zero or less means DefaultLeaseTTL.
func WithLeaseTTL(d time.Duration) Option { return func(s *Store) { s.leaseTTL = d } }

// New connects to the Redis at url (redis://[user:password@]host:port/db, or
// rediss:// for TLS) and pings it under ctx.
func New(ctx context.Context, url string, opts ...Option) (*Store, error) {
	o, err := redis.ParseURL(url)
	if err != nil {
		return nil, fmt.Errorf("redisstore: bad Redis URL: %w", err)
	}
	s := &Store{prefix: DefaultPrefix}
	for _, opt := range opts {
		opt(s)
	}
	if s.leaseTTL <= 0 {
		s.leaseTTL = DefaultLeaseTTL
	}
	s.rdb = redis.NewClient(o)
	if err := s.rdb.Ping(ctx).Err(); err != nil {
		_ = s.rdb.Close()
		return nil, fmt.Errorf("redisstore: ping Redis at %s db %d: %w", o.Addr, o.DB, err)
	}
	return s, nil
}

// Close closes the connections to Redis.
func (s *Store) Close() error { return s.rdb.Close() }

var (
	errTTL   = errors.New("redisstore: ttl must be positive")
	errEmpty = errors.New("redisstore: node and session must not be empty")
)

func checkTTL(ttl time.Duration) error {
	if ttl <= 0 {
		return fmt.Errorf("%w, got %v", errTTL, ttl)
	}
	return nil
}

// checkID rejects room ids that could break the key layout (they hold no ':').
func checkID(id room.ID) error {
	_, err := room.ParseID(string(id))
	return err
}

// ms is d in whole milliseconds, at least 1, as Redis PX wants.
func ms(d time.Duration) int64 { return max(int64((d+time.Millisecond-1)/time.Millisecond), 1) }
