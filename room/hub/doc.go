// Package hub is the per-node fan-out core of room chat. It owns the local
// sessions of every room on this node (one bounded queue and one goroutine per
// session) and delivers each room message, published once per node (from NATS,
// elsewhere), to all of them. It does not own the transport (a Sink: a
// WebSocket or a data channel, in signaling), the bus subscription, or the
// encoding: messages arrive as encoded JSON envelopes (DESIGN.md), shared and
// never copied or modified.
//
// # Delivery
//
// The Sink interface's doc is the contract with transports. In short:
//
//   - Order: every session of a room gets the room's messages in the order of
//     the Publish calls (Publish is serialised per room), in batches, never
//     reordered. A session gets only messages published after its Join.
//   - Batching: after a message reaches an empty queue the session waits up to
//     BatchWindow for more, or until MaxBatch are queued, then writes them with
//     one WriteBatch. A queue that fills up while WriteBatch runs is written as
//     soon as it returns if it holds a full batch, else after a new window; so
//     a session writes at most about once per BatchWindow unless batches are full.
//   - Drops, at most once: Publish never waits for a session. When a session's
//     queue (QueueLen) is full the message is dropped for that session only
//     and counted (Session.Dropped). Dropped messages are never sent later.
//     When the session catches up (its queue empties), the last message of that
//     batch is one notice for the whole overflow episode:
//     {"v":1,"type":"system","body":{"event":"dropped","count":N}}.
//   - Slow consumers: a session that drops MaxDropped messages in one episode
//     (without catching up in between) is removed at once and its WriteBatch
//     context cancelled; onGone(ErrSlowConsumer) follows when WriteBatch returns.
//   - Endings: a WriteBatch error ends only that session (onGone(err)); Leave
//     ends it silently; Close ends all (onGone(ErrClosed)) and waits for every
//     goroutine. onGone is called at most once, by the session's goroutine after
//     its last WriteBatch: the sink is never called after onGone or Leave.
//
// # Hot path
//
// Publish looks the room up in a sync.Map and reads its session slice, which
// is copy-on-write (replaced under Hub.mu by Join and removals), without a
// lock; per session it takes only that session's mutex to put a slice header in
// a ring allocated at Join, and wakes the session goroutine only when its queue
// becomes non-empty or holds a full batch. No allocation per message per
// session; no lock is held while a Sink or onGone runs.
//
// # Lock order
//
//	room.pub → Hub.mu
//	room.pub → Session.mu
//
// room.pub (one room's Publish) may take Hub.mu (removing a slow consumer) or
// a Session.mu (queueing). Hub.mu and Session.mu are never held together, and
// nothing is taken while holding Session.mu. No lock is held while calling a
// Sink or onGone, so either may call Leave (but WriteBatch not on its own
// session) and neither may call Close, which waits for them.
//
// # Goroutines
//
// The Hub owns one goroutine per session, started by Join and ended by Leave,
// a WriteBatch error, slow-consumer removal or Close; Close waits for all.
package hub
