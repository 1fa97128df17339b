// Package redisboard keeps onair's leaderboards (board.Store) in Redis sorted
// sets, so that every node reads and feeds the same boards. memboard is the
// same contract on one machine. It needs Redis 6.2 or later, standalone or
// Sentinel: the Lua scripts build key names, so Redis Cluster is not supported.
//
// # Keys
//
// Every key starts with the prefix (default "onair:board:", WithPrefix); <P>
// below. Boards live under a generation <G>, which Rebuild moves on:
//
//	<P>gen                  STRING the current generation (absent: 0)
//	<P>nextgen              STRING the last generation a Rebuild took
//	<P><G>:r:<room>:b:<bc>  ZSET users of one broadcast; PX = its retention
//	<P><G>:r:<room>:b:<bc>:until STRING that board's deadline, Unix ms; same PX
//	<P><G>:r:<room>:d:<day> ZSET users of a room on one day ("2030-01-02"); PX
//	<P><G>:r:<room>:w:<wk>  ZSET users of a room in one ISO week ("2030-W01"); PX
//	<P><G>:r:<room>:all     ZSET users of a room, ever; no expiry
//	<P><G>:s:d:<day>, <P><G>:s:w:<wk>, <P><G>:s:all   ZSET streamers by earnings
//	<P><G>:seen:<id>        STRING until when a credit ID is remembered, Unix ms; PX = DedupWindow
//
// A sorted set holds each member's score negated, so that ZRANGE's ascending
// order, which breaks ties by member in byte order, is the board's order:
// highest score first, ties by ID ascending.
//
// # Time
//
// Periods and deadlines come from the board.Calendar's clock, not from Redis
// TIME, because the periods are the calendar's. A key's PX is its deadline less
// that clock's now when it is written, so a day board outlives its retention by
// at most the skew between the nodes' clocks; readers check the deadline
// themselves and see an expired board as empty at once.
//
// # Atomicity
//
// Add is one Lua script: it reads the generation, skips a credit whose ID is
// remembered, checks every board of the credit against board.MaxScore, then
// applies them all (ZINCRBY, PEXPIRE) and remembers the ID, so a reader,
// itself one script, sees all of a credit or none of it, and of concurrent
// deliveries of one ID exactly one counts. Rebuild sums
// the credits in memory, writes the sums under a new generation with pipelined
// ZADDs, then switches <P>gen in one command (readers go from the whole old
// boards to the whole new ones) and deletes the older generations with SCAN
// and UNLINK. A failed Rebuild deletes what it wrote.
package redisboard
