// Package hub is the per-node fan-out core of room chat. It owns the local
// sessions of every room on this node (one bounded queue and one goroutine per
// session), batches each room's messages, published once per node (from NATS,
// elsewhere), and delivers every batch to all of them. It does not own the
// transport (a Sink: a WebSocket or a data channel, in signaling) or the bus
// subscription. Messages arrive as encoded JSON envelopes (DESIGN.md), shared
// and never copied or modified; the hub encodes only the frame that carries a
// batch, the JSON array [m1,m2,...], once per batch for the whole room.
//
// # Delivery
//
// The Sink interface's doc is the contract with transports. In short:
//
//   - Batching, per room: Publish appends to the room's open batch. One timer
//     per room seals it BatchWindow after its first message, or Publish does
//     when it holds MaxBatch. Sealing encodes the frame once and queues the
//     sealed Batch (messages and frame, immutable, shared) to every session of
//     the room; each session writes it with one WriteBatch, as soon as its
//     previous write returns. The work per window is done once per room; per
//     session it is a queue slot and a write of shared bytes.
//   - Order: every session of a room gets the room's messages in the order of
//     the Publish calls (Publish is serialised per room), in the same batches,
//     never reordered. A session gets only messages published after its Join
//     (one that joins while a batch is open gets that batch without the
//     messages before its Join, in a frame of its own).
//   - Drops, at most once: Publish never waits for a session. The queue holds
//     QueueLen messages; a batch that does not fit in what is left is dropped
//     whole for that session only and counted (Session.Dropped). Dropped
//     messages are never sent later. When the session catches up (its queue
//     empties), it writes one notice for the whole overflow episode right after
//     that batch: {"v":1,"type":"system","body":{"event":"dropped","count":N}}.
//   - Slow consumers: a session that drops MaxDropped messages in one episode
//     (without catching up in between) is removed at once: nothing more is
//     queued or written for it. A WriteBatch in flight is not cancelled, so a
//     transport that can still write may tell its peer why;
//     onGone(ErrSlowConsumer) follows when it returns.
//   - Write watchdog: one goroutine per Hub looks at the writes in flight every
//     WriteTimeout/8 and cancels the context of a WriteBatch that has run
//     WriteTimeout (so it is cut within 1.25 WriteTimeout); its session is
//     removed and onGone gets ErrWriteTimeout (an ErrSlowConsumer). A write
//     costs the hub two atomic stores for this: no timer or context per write.
//   - Endings: a WriteBatch error ends only that session (onGone(err)); Leave
//     ends it silently and cancels its write; Close ends all (onGone(ErrClosed)
//     unless ended already), cancels their writes and waits for every
//     goroutine. onGone is called at most once, by the session's goroutine after
//     its last WriteBatch: the sink is never called after onGone or Leave.
//
// # Hot path
//
// Publish looks the room up in a sync.Map and appends the message to the
// room's open batch under the room's lock. Sealing reads the room's session
// slice, which is copy-on-write (replaced under Hub.mu by Join and removals),
// without a lock; per session it takes only that session's mutex to put one
// pointer in a ring allocated at Join, and wakes the session goroutine only
// when its queue was empty. A batch allocates its messages' slice, its frame
// and itself, once for the room; nothing is allocated per session or per
// write. No lock is held while a Sink or onGone runs.
//
// # Lock order
//
//	room.pub → Hub.mu
//	room.pub → Session.mu
//
// room.pub (one room's Publish, sealing, and Join's entry into the room) may
// take Hub.mu (removing a slow consumer, joining) or a Session.mu (queueing).
// Hub.mu and Session.mu are never held together, and nothing is taken while
// holding Session.mu. No lock is held while calling a Sink or onGone, so either
// may call Leave (but WriteBatch not on its own session) and neither may call
// Close, which waits for them.
//
// # Goroutines
//
// The Hub owns one goroutine per session, started by Join and ended by Leave,
// a WriteBatch error, a slow-consumer removal, the watchdog or Close, and the
// watchdog, started by the first Join; Close waits for all. Each room's timer
// runs its seal on a goroutine of the runtime's, which takes the room's lock
// and returns.
package hub
