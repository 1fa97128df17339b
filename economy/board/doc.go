// Package board keeps onair's live leaderboards (issue 5, item 5): the
// contributors of a room per broadcast, per day, per week and of all time, and
// the streamers by earnings per day, per week and of all time, for the lobby's
// "top streamers".
//
// Leaderboards are hot state, not the system of record: the ledger is. A board
// is fed one Credit per committed gift (the outbox relay calls Store.Add) and
// can always be rebuilt from the ledger with Store.Rebuild, which the operator
// command `onair leaderboard rebuild` uses when Redis is lost. Store is the
// contract; memboard keeps it in process memory (one node), redisboard in Redis
// sorted sets (many nodes); both pass the suite in boardtest.
//
// # Delivery
//
// The feed of credits may deliver one twice (an outbox event redelivered after
// a crash). A Credit that carries the ledger event's ID counts once: Add
// remembers IDs for Config.DedupWindow (default 10 minutes), and Rebuild
// remembers those of its credits from that last window, so the feed can be
// replayed from there after a rebuild.
//
// # Periods
//
// Day and week boards are cut at local midnight in Config.TimeZone (default
// UTC); weeks start on Monday and are named by their ISO 8601 week
// ("2030-W01"), days as "2030-01-02". A credit counts in the day and the week
// that contain its At, whatever the clock says when it arrives. The store's
// clock (Config.Now) picks "the current period" when a Board leaves At zero,
// and decides what has expired.
//
// # Expiry
//
// Nothing grows forever. A day board expires DayRetention after its day ends
// (default 48h, so "yesterday" stays readable), a week board WeekRetention after
// its week ends (default 14 days), a broadcast board BroadcastRetention after
// the At of its latest credit (default 7 days). An expired board reads as empty
// at once, by the store's clock; its storage is freed soon after (Redis key
// TTLs, a sweep in memory). A credit whose period has already expired counts
// only on the boards that have not. All-time boards never expire; they hold one
// entry per distinct contributor of a room, and one per streamer.
//
// # Scores and order
//
// Scores are exact integers: the sum of the credits' Amount (room boards) or
// Earned (streamer boards). Redis keeps sorted-set scores as float64, exact for
// integers only up to 2^53, so no score may pass MaxScore (2^53): a credit that
// would push any of its boards past it is refused whole with ErrScoreLimit.
// Entries are ordered by score, highest first; equal scores by ID in ascending
// byte order (the order Redis gives equal scores), so a tie is broken the same
// way on every node and after every rebuild. Rank is the 1-based position in
// that order: two entries never share a rank.
package board
