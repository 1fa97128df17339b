package economy_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/onair-live/onair/economy"
	"github.com/onair-live/onair/economy/ledgertest"
	"github.com/onair-live/onair/economy/sqlstore"
	"github.com/onair-live/onair/internal/natstest"
)

// startJetStream runs a real NATS server with JetStream on a free loopback
// port and declares a stream for the gift events that the tests post, with
// the de-duplication window the relay relies on.
func startJetStream(t testing.TB) (jetstream.JetStream, jetstream.Stream) {
	t.Helper()
	_, js := natstest.Connect(t)
	st, err := js.CreateStream(t.Context(), jetstream.StreamConfig{Name: "GIFTS", Subjects: []string{"room.*.gift"}, Duplicates: 2 * time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	return js, st
}

// jsPublisher is economy.Publisher on JetStream, as the app implements it:
// the message id goes out as Nats-Msg-Id. It counts its calls and fails the
// first failFirst of them.
type jsPublisher struct {
	js        jetstream.JetStream
	calls     atomic.Int64
	failFirst int64
}

func (p *jsPublisher) Publish(ctx context.Context, subject string, data []byte, msgID string) error {
	if p.calls.Add(1) <= p.failFirst {
		return errors.New("bus unavailable")
	}
	_, err := p.js.Publish(ctx, subject, data, jetstream.WithMsgID(msgID))
	return err
}

// streamMsgs reads every message of the stream, in stream order.
func streamMsgs(t *testing.T, st jetstream.Stream) []*jetstream.RawStreamMsg {
	t.Helper()
	info, err := st.Info(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	var out []*jetstream.RawStreamMsg
	for seq := info.State.FirstSeq; info.State.Msgs > 0 && seq <= info.State.LastSeq; seq++ {
		m, err := st.GetMsg(t.Context(), seq)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, m)
	}
	return out
}

func msgCount(t *testing.T, st jetstream.Stream) uint64 {
	t.Helper()
	info, err := st.Info(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	return info.State.Msgs
}

// newRelayLedger is a ledger with the relay on. The poll interval is long
// unless a test says otherwise: what goes out, goes out because a commit woke
// the relay (or because it started).
func newRelayLedger(t *testing.T, s economy.Store, pub economy.Publisher, poll time.Duration) *economy.Ledger {
	t.Helper()
	if poll == 0 {
		poll = time.Hour
	}
	l, err := economy.NewLedger(economy.Config{OutboxPoll: poll}, economy.Deps{Store: s, Publisher: pub})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = l.Close() })
	return l
}

// wantPublished checks that the stream holds exactly one message per receipt,
// with the transaction's id as Nats-Msg-Id and the event it was committed
// with, each subject's messages in commit order; and that the outbox is empty.
func wantPublished(t *testing.T, st jetstream.Stream, s economy.Store, receipts []economy.Receipt, events map[string]*economy.Event) {
	t.Helper()
	// Marking follows publishing: once nothing is pending, every publication,
	// repeated ones included, has been made.
	eventually(t, "the outbox marked published", func() bool {
		evs, err := s.Pending(t.Context(), 10)
		return err == nil && len(evs) == 0
	})
	msgs := streamMsgs(t, st)
	if len(msgs) != len(receipts) {
		t.Fatalf("%d messages for %d committed events", len(msgs), len(receipts))
	}
	byID := map[string]*jetstream.RawStreamMsg{}
	lastOnSubject := map[string]string{}
	for _, m := range msgs {
		id := m.Header.Get(jetstream.MsgIDHeader)
		if byID[id] != nil {
			t.Fatalf("message id %s twice", id)
		}
		byID[id] = m
		if id <= lastOnSubject[m.Subject] {
			t.Fatalf("on %s, %s after %s: out of commit order", m.Subject, id, lastOnSubject[m.Subject])
		}
		lastOnSubject[m.Subject] = id
	}
	for _, r := range receipts {
		m, ev := byID[r.TxnID], events[r.Key]
		if m == nil {
			t.Fatalf("no message for %s (%s)", r.Key, r.TxnID)
		}
		if m.Subject != ev.Subject || string(m.Data) != string(ev.Payload) {
			t.Fatalf("message %s: %s %s, want %s %s", r.Key, m.Subject, m.Data, ev.Subject, ev.Payload)
		}
	}
}

// postGifts funds alice and posts n gifts from her, one after the other, to
// streamers s0, s1, ... s<subjects-1> in turn; it returns the receipts and the
// events by key.
func postGifts(t *testing.T, l *economy.Ledger, n, subjects int) ([]economy.Receipt, map[string]*economy.Event) {
	t.Helper()
	if _, err := l.Post(t.Context(), ledgertest.Recharge("fund", "alice", 0, int64(10*n))); err != nil {
		t.Fatal(err)
	}
	var receipts []economy.Receipt
	events := map[string]*economy.Event{}
	for i := range n {
		txn := ledgertest.Gift(fmt.Sprintf("g%d", i), "alice", fmt.Sprintf("s%d", i%subjects), 10, 50)
		r, err := l.Post(t.Context(), txn)
		if err != nil {
			t.Fatal(err)
		}
		receipts = append(receipts, r)
		events[r.Key] = txn.Event
	}
	return receipts, events
}

// go test -run '^$' -bench GiftsWithRelay -benchtime 20000x ./economy/
//
// BenchmarkGiftsWithRelay is sqlstore's BenchmarkGifts with the relay on,
// publishing every gift's event to an embedded JetStream server: the ledger as
// a node runs it. drain-ms is how long after the last receipt the last event
// was marked published.
func BenchmarkGiftsWithRelay(b *testing.B) {
	for _, e := range ledgertest.Engines {
		b.Run(e.Name, func(b *testing.B) {
			js, _ := startJetStream(b)
			s := sqlstore.New(e.Open(b))
			l, err := economy.NewLedger(economy.Config{}, economy.Deps{Store: s, Publisher: &jsPublisher{js: js}})
			if err != nil {
				b.Fatal(err)
			}
			defer l.Close()
			ledgertest.GiftLoad(b, l, 64, 8)
			start := time.Now()
			for {
				evs, err := s.Pending(b.Context(), 1)
				if err != nil {
					b.Fatal(err)
				}
				if len(evs) == 0 {
					break
				}
				time.Sleep(time.Millisecond)
			}
			b.ReportMetric(float64(time.Since(start).Microseconds())/1000, "drain-ms")
		})
	}
}

// Every committed event reaches the stream exactly once: retries of a request
// and refused requests add none.
func TestRelayPublishesEachEventOnce(t *testing.T) {
	js, st := startJetStream(t)
	s := sqlstore.New(ledgertest.Engines[0].Open(t))
	l := newRelayLedger(t, s, &jsPublisher{js: js}, 0)
	if _, err := l.Post(t.Context(), ledgertest.Recharge("fund", "alice", 0, 400)); err != nil {
		t.Fatal(err)
	}
	var txns []economy.Txn
	for i := range 40 {
		txns = append(txns, ledgertest.Gift(fmt.Sprintf("g%d", i), "alice", fmt.Sprintf("s%d", i%3), 10, 50))
	}
	txns = append(txns, ledgertest.Gift("too-big", "alice", "s0", 1000, 50))
	rs, errs := postAll(l, append(txns, txns[:10]...)) // ten clients retry at once
	var receipts []economy.Receipt
	events := map[string]*economy.Event{}
	for i, err := range errs {
		switch {
		case txns[i%len(txns)].Key == "too-big":
			if !errors.Is(err, economy.ErrInsufficientFunds) {
				t.Fatalf("too-big: %v", err)
			}
		case err != nil:
			t.Fatal(err)
		case !rs[i].Replayed:
			receipts = append(receipts, rs[i])
			events[rs[i].Key] = txns[i%len(txns)].Event
		}
	}
	if len(receipts) != 40 {
		t.Fatalf("%d first commits, want 40", len(receipts))
	}
	wantPublished(t, st, s, receipts, events)
	if rep := ledgertest.MustVerify(t, l); rep.Unpublished != 0 {
		t.Fatalf("report %+v", rep)
	}
}

// Events committed while no relay ran (a crash, a node without one) go out
// when a relay starts.
func TestRelayPublishesAfterRestart(t *testing.T) {
	js, st := startJetStream(t)
	s := sqlstore.New(ledgertest.Engines[0].Open(t))
	before := ledgertest.NewLedger(t, s, economy.Config{}) // no publisher
	receipts, events := postGifts(t, before, 5, 1)
	if err := before.Close(); err != nil {
		t.Fatal(err)
	}
	if evs, err := s.Pending(t.Context(), 10); err != nil || len(evs) != 5 || msgCount(t, st) != 0 {
		t.Fatalf("before the restart: %d pending (%v), %d in the stream", len(evs), err, msgCount(t, st))
	}
	newRelayLedger(t, s, &jsPublisher{js: js}, 0)
	wantPublished(t, st, s, receipts, events)
}

// markFails is a store that cannot record publications for a while, as when
// a node dies between publishing and marking.
type markFails struct {
	economy.Store
	left atomic.Int64
}

func (m *markFails) MarkPublished(ctx context.Context, txns []string, at time.Time) error {
	if m.left.Add(-1) >= 0 {
		return errors.New("connection lost")
	}
	return m.Store.MarkPublished(ctx, txns, at)
}

// A relay that published but could not record it publishes again; the bus
// drops the copies, so consumers still see each event once.
func TestRelayRepublishIsDeduplicated(t *testing.T) {
	js, st := startJetStream(t)
	s := &markFails{Store: sqlstore.New(ledgertest.Engines[0].Open(t))}
	s.left.Store(2)
	pub := &jsPublisher{js: js}
	receipts, events := postGifts(t, newRelayLedger(t, s, pub, 20*time.Millisecond), 6, 2)
	wantPublished(t, st, s, receipts, events)
	if pub.calls.Load() <= 6 {
		t.Fatalf("%d publications: the failed marks were not followed by a second publication", pub.calls.Load())
	}
}

// A publication that fails is tried again, and the events of its subject
// wait for it: none overtakes it.
func TestRelayRetriesFailedPublication(t *testing.T) {
	js, st := startJetStream(t)
	s := sqlstore.New(ledgertest.Engines[0].Open(t))
	pub := &jsPublisher{js: js, failFirst: 3}
	receipts, events := postGifts(t, newRelayLedger(t, s, pub, 20*time.Millisecond), 4, 1)
	wantPublished(t, st, s, receipts, events)
	var ids []string
	for _, m := range streamMsgs(t, st) {
		ids = append(ids, m.Header.Get(jetstream.MsgIDHeader))
	}
	if !slices.IsSorted(ids) {
		t.Fatalf("stream order %v: not commit order", ids)
	}
}
