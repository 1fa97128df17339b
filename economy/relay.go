package economy

import (
	"context"
	"log/slog"
	"sync"
	"time"
)

// Publisher puts an event on the bus. The app implements it with JetStream.
//
// msgID is the id of the event's transaction. Publish returns nil only once the
// bus has stored the message (a JetStream ack), and it must drop a message whose msgID it has already stored (JetStream
// does so for Nats-Msg-Id within the stream's duplicate window). The relay
// publishes every outbox event at least once, and again if it could not record
// that it did (a crash between the two): the de-duplication by msgID is what
// makes consumers see each event exactly once. So the duplicate window must be
// longer than a node may stay down with events unpublished.
type Publisher interface {
	Publish(ctx context.Context, subject string, data []byte, msgID string) error
}

// relay publishes committed outbox events and marks them published. It runs
// after each commit that wrote events, and every OutboxPoll besides, so that
// events committed before a crash, or by a node without a relay, go out too.
// Several nodes may run one on the same store: an event may then be published
// twice, and the bus drops the second.
type relay struct {
	cfg   Config
	store Store
	pub   Publisher
	log   *slog.Logger
	now   func() time.Time

	kick   chan struct{} // capacity 1: a round is asked for
	stop   chan struct{} // closed by close: one last round, then return
	cancel context.CancelFunc
	done   chan struct{}
}

func newRelay(cfg Config, s Store, pub Publisher, log *slog.Logger, now func() time.Time) *relay {
	ctx, cancel := context.WithCancel(context.Background())
	r := &relay{cfg: cfg, store: s, pub: pub, log: log.With("part", "relay"), now: now,
		kick: make(chan struct{}, 1), stop: make(chan struct{}), cancel: cancel, done: make(chan struct{})}
	go r.run(ctx)
	return r
}

// wake asks for a round soon; it never blocks.
func (r *relay) wake() {
	select {
	case r.kick <- struct{}{}:
	default: // a round is asked for already, and it will see these events too
	}
}

// close runs a last round, given CommitTimeout to publish what is pending,
// and stops the relay. Call it once.
func (r *relay) close() {
	deadline := time.AfterFunc(r.cfg.CommitTimeout, r.cancel)
	close(r.stop)
	<-r.done
	deadline.Stop()
	r.cancel()
}

func (r *relay) run(ctx context.Context) {
	defer close(r.done)
	t := time.NewTicker(r.cfg.OutboxPoll)
	defer t.Stop()
	for {
		r.round(ctx)
		select {
		case <-r.stop:
			r.round(ctx)
			return
		case <-r.kick:
		case <-t.C:
		}
	}
}

// round publishes pending events page by page until none is left or one
// fails; a failed event is tried again next round.
func (r *relay) round(ctx context.Context) {
	for ctx.Err() == nil {
		evs, err := r.store.Pending(ctx, r.cfg.OutboxPage)
		if err != nil {
			r.log.Warn("read outbox", "err", err)
			return
		}
		if len(evs) == 0 {
			return
		}
		ids := r.publish(ctx, evs)
		if len(ids) > 0 {
			if err := r.store.MarkPublished(ctx, ids, r.now()); err != nil {
				// They go out again next round; the bus drops the copies.
				r.log.Warn("mark events published", "events", len(ids), "err", err)
				return
			}
		}
		if len(ids) < len(evs) || len(evs) < r.cfg.OutboxPage {
			return
		}
	}
}

// publish sends evs, the events of one subject one after the other in commit
// order (stopping at the first failure, so that none overtakes it), up to
// PublishParallel subjects at once. It returns the transaction ids of the
// events published.
func (r *relay) publish(ctx context.Context, evs []OutboxEvent) []string {
	var order []string
	bySubject := map[string][]*OutboxEvent{}
	for i := range evs {
		s := evs[i].Subject
		if _, ok := bySubject[s]; !ok {
			order = append(order, s)
		}
		bySubject[s] = append(bySubject[s], &evs[i])
	}
	var (
		mu  sync.Mutex
		ids = make([]string, 0, len(evs))
		wg  sync.WaitGroup
		sem = make(chan struct{}, r.cfg.PublishParallel)
	)
	for _, s := range order {
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			for _, ev := range bySubject[s] {
				if err := r.pub.Publish(ctx, ev.Subject, ev.Payload, ev.TxnID); err != nil {
					r.log.Warn("publish event", "subject", ev.Subject, "txn", ev.TxnID, "err", err)
					return
				}
				mu.Lock()
				ids = append(ids, ev.TxnID)
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	return ids
}
