// Package memboard keeps onair's leaderboards (board.Store) in process memory:
// the default on one machine. redisboard is the same contract across nodes.
//
// One board is a map from member to score beside a slice of entries kept in
// board order (score descending, ID ascending), so Add is a binary search and a
// shift of the entries the member overtakes, Top(n) copies n entries and Rank
// is a binary search. One RWMutex guards every board, which makes Add atomic
// across the boards of a credit; readers share the read lock.
//
// Expiry is lazy, as in room/memstore: a read treats an expired board as
// empty, and an Add sweeps every expired board out at most once per
// WithSweepEvery (default a minute), so memory tracks what is alive and no
// goroutine is needed.
//
// Credit IDs taken within the DedupWindow are kept in a map beside the boards,
// checked and set under the same lock as the credit, and swept the same way.
//
// Rebuild builds the new boards outside the lock and swaps them in under it.
package memboard
