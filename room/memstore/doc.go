// Package memstore keeps onair's hot shared state in process memory: viewer
// presence, the live-room directory and rate-limit buckets (room.Presence,
// room.Directory, room.Limiter). It is the default on one machine, where there is
// no other node to share with; redisstore is the same contract across nodes.
//
// Time comes from an injectable clock (WithClock). Expiry is lazy: a read ignores
// what has expired, and a write sweeps the whole store at most once per
// WithSweepEvery, so memory tracks what is alive and no goroutine is needed.
//
// Presence: a node holds a lease. Join on a node without a live lease starts one
// of WithLeaseTTL (default 30s); Renew sets it to ttl from now. When the lease
// lapses the node's sessions are gone; a later Renew or Join starts an empty lease
// and does not bring them back, so a node that was partitioned for longer than
// its TTL must Join its sessions again.
//
// Directory: List returns the live rooms sorted by ID, StartedAt in UTC.
//
// Limiter: a token bucket stored as its theoretical arrival time (GCRA), one
// int64 per key; a key whose bucket is full again is forgotten.
//
// Lock order: the presence, directory and limiter mutexes are independent and
// never held together.
package memstore
