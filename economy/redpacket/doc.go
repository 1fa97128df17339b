// Package redpacket runs red packets: a user drops N coins in a room, split at
// creation into K random shares; the first K distinct users to grab one win
// them, in share order; what nobody grabbed before the packet expires goes back
// to the sender. Every coin moves in the ledger (package economy), each step
// under an idempotency key derived from the packet, with its room event in the
// same transaction:
//
//	create  sender → escrow, N coins   key redpacket:create:<sender>:<client key>   event redpacket
//	grab    escrow → grabber, a share  key redpacket:grab:<packet>:<share index>     event redpacket_grab
//	refund  escrow → sender, the rest  key redpacket:refund:<packet>                 event redpacket_end
//
// Events go on onair.economy.<type>.<room> as room envelopes without an id
// ([Event]); the node's feed republishes them into the room with the
// transaction id as the envelope id, so viewers see a packet, a grab or an end
// exactly once and only once the coins moved.
//
// # Where the truth is
//
// The packet's row in the [Store] says what is due next; the ledger says what
// moved. Every step is written so that a crash anywhere leaves no coin lost and
// the books balanced, and so that the [Service.Sweep] pass (run by
// [Service.Start] on every node, from the store, so it survives restarts)
// finishes it:
//
//   - Create writes the packet pending, with its split, before posting; then
//     opens it with the transaction id. A pending packet whose last attempt is
//     older than Config.StaleAfter (longer than any post can still commit:
//     Config.PostTimeout plus the ledger's commit timeout) is finished by the
//     sweeper posting the same create again: if that commits, or finds the
//     first post committed (a replay), the packet opens; if the ledger refuses
//     it, nothing moved and no earlier post can commit any more, so the packet
//     is canceled. A create refused on its first attempt (not enough coins) is
//     canceled at once: no other attempt can be in flight; coins short before
//     any attempt leave no row at all.
//   - A grab claims a share in one store transaction (the row lock orders
//     claims), then posts its payment and marks it paid. A claimed share not
//     yet paid is paid by the sweeper, or by the same user's next grab.
//   - A packet past its expiry is ended (no more claims), then settled: every
//     claimed share paid, the unclaimed shares refunded in one transaction,
//     the packet done. A packet whose last share is claimed ends at that claim
//     and settles with no refund (and so no redpacket_end event: the last
//     redpacket_grab says left 0).
//
// Each ledger step is safe to repeat (same key, same parameters: a replay), so
// two nodes sweeping at once, or a sweep racing a request, move nothing twice;
// the store's status changes are compare-and-set.
//
// # The split
//
// [Split] uses the "double mean" method (二倍均值法) of WeChat red packets:
// with M coins left for n shares, each share but the last is drawn uniformly
// from 1 to 2M/n - 1, whose mean is the mean of what is left, M/n, and which
// leaves at least one coin for every share after it; the last share takes the
// rest. Every share is at least 1 coin and they sum to N exactly. Draws come
// from crypto/rand, so nobody can predict the big share. The split is fixed at
// creation and stored: share i goes to the i-th grabber.
//
// # Choices
//
// The sender may grab their own packet, as in the messaging apps where red
// packets come from: it is a draw like any other and the sender's coins were
// already in escrow. Anyone logged in may drop a packet in any room and grab
// from it; the edge checks the room and its bans.
package redpacket
