// Package redisstore keeps onair's hot shared state in Redis so that every node
// sees the same viewer counts, live-room directory and rate limits
// (room.Presence, room.Directory, room.Limiter). memstore is the same contract
// on one machine. It needs Redis 6.2 or later, standalone or Sentinel: the Lua
// scripts build key names, so Redis Cluster is not supported.
//
// Time is Redis's own (key expiry and TIME), never a node's clock, so nodes with
// skewed clocks still agree. Every key starts with the prefix (default
// "onair:", WithPrefix); <P> below. Every method runs under the ctx it is given.
//
// Presence. A node holds a lease; its sessions live exactly as long as the lease,
// because every key of the node expires at the same instant:
//
//	<P>presence:lease:<node>           STRING "1", PX = the lease; Renew sets it to ttl
//	<P>presence:rooms:<node>           SET of room ids the node has sessions in; same expiry
//	<P>presence:sessions:<room>:<node> SET of the node's session ids in the room; same expiry
//	<P>presence:nodes:<room>           SET of nodes with sessions in the room; expiry ≥ the
//	                                   longest lease among them
//
// Join on a node without a lease starts one of WithLeaseTTL (default 30s) and
// first deletes whatever the node left behind, so lapsed sessions never come back;
// Renew re-expires the node's keys, O(rooms of the node). Count sums SCARD over the
// room's nodes, O(nodes in the room) whatever the number of viewers, and drops
// nodes whose sessions key expired. Room ids hold no ':', so keys cannot collide.
//
// Directory. Entries expire by score; any SetLive or List first deletes the
// expired ones:
//
//	<P>directory:rooms     HASH room id -> JSON room.LiveRoom (StartedAt in UTC)
//	<P>directory:deadlines ZSET room id scored by its deadline, Unix ms of Redis TIME
//
// List returns the live rooms sorted by ID.
//
// Limiter. One key per bucket holding its theoretical arrival time (GCRA, the
// token bucket as one number), updated by a Lua script run with EVALSHA and
// falling back to EVAL; the key expires when the bucket is full again:
//
//	<P>limit:<key>         STRING Unix µs at which the bucket is full, PX until then
package redisstore
