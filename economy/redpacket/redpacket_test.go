package redpacket_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/onair-live/onair/economy"
	"github.com/onair-live/onair/economy/ledgertest"
	"github.com/onair-live/onair/economy/redpacket"
	"github.com/onair-live/onair/economy/redpacket/dbstore"
	"github.com/onair-live/onair/economy/settings"
	"github.com/onair-live/onair/economy/sqlstore"
	"github.com/onair-live/onair/store"
)

// node is one onair node's red packets: a service on its own database handle
// and ledger, over a shared database.
type node struct {
	db     *store.DB
	ledger *economy.Ledger
	faults *faultyLedger
	svc    *redpacket.Service
}

// world is the shared database, the clock all services read, and the terms.
type world struct {
	t     *testing.T
	dsn   string
	clock *clock
	terms terms
}

func newWorld(t *testing.T, e ledgertest.Engine) *world {
	return &world{t: t, dsn: e.DSN(t), clock: &clock{at: time.Date(2026, 5, 1, 20, 0, 0, 0, time.UTC)}, terms: terms{settings.Default()}}
}

// start starts a node: a new database handle, ledger and service, as a
// restarted process would have. Its sweeper is not started: tests sweep by
// hand at the times they choose.
func (w *world) start() *node {
	w.t.Helper()
	db := ledgertest.Open(w.t, w.dsn)
	l := ledgertest.NewLedger(w.t, sqlstore.New(db), economy.Config{})
	f := &faultyLedger{Ledger: l}
	svc, err := redpacket.New(redpacket.Config{}, redpacket.Deps{Store: dbstore.New(db), Ledger: f, Terms: w.terms, Now: w.clock.now})
	if err != nil {
		w.t.Fatal(err)
	}
	w.t.Cleanup(func() { _ = svc.Close() })
	return &node{db: db, ledger: l, faults: f, svc: svc}
}

type clock struct {
	mu sync.Mutex
	at time.Time
}

func (c *clock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.at
}

func (c *clock) advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.at = c.at.Add(d)
}

type terms struct{ s settings.Settings }

func (t terms) Settings(context.Context) (settings.Settings, error) { return t.s, nil }

// faultyLedger fails the next post of a kind, before it reaches the ledger
// (the post never happened) or after it committed (the answer was lost): what
// a crash at either point leaves.
type faultyLedger struct {
	redpacket.Ledger
	mu            sync.Mutex
	before, after map[string]int
	balanceBonus  int64 // added to every balance read: a read that is stale
}

var errCrash = errors.New("simulated crash")

func (f *faultyLedger) failBefore(kind string, n int) { f.set(&f.before, kind, n) }
func (f *faultyLedger) failAfter(kind string, n int)  { f.set(&f.after, kind, n) }

func (f *faultyLedger) set(m *map[string]int, kind string, n int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if *m == nil {
		*m = map[string]int{}
	}
	(*m)[kind] = n
}

func (f *faultyLedger) take(m map[string]int, kind string) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	if m[kind] > 0 {
		m[kind]--
		return true
	}
	return false
}

func (f *faultyLedger) Post(ctx context.Context, t economy.Txn) (economy.Receipt, error) {
	if f.take(f.before, t.Kind) {
		return economy.Receipt{}, errCrash
	}
	r, err := f.Ledger.Post(ctx, t)
	if err == nil && f.take(f.after, t.Kind) {
		return economy.Receipt{}, errCrash
	}
	return r, err
}

func (f *faultyLedger) Balance(ctx context.Context, id economy.AccountID) (int64, error) {
	b, err := f.Ledger.Balance(ctx, id)
	f.mu.Lock()
	defer f.mu.Unlock()
	return b + f.balanceBonus, err
}

func forEngines(t *testing.T, fn func(t *testing.T, w *world)) {
	for _, e := range ledgertest.Engines {
		t.Run(e.Name, func(t *testing.T) { fn(t, newWorld(t, e)) })
	}
}

var recharges atomic.Int64

func fund(t *testing.T, n *node, user string, coins int64) {
	t.Helper()
	if _, err := n.ledger.Post(t.Context(), ledgertest.Recharge(fmt.Sprintf("recharge-%d", recharges.Add(1)), user, 0, coins)); err != nil {
		t.Fatal(err)
	}
}

func balance(t *testing.T, n *node, user string) int64 {
	t.Helper()
	b, err := n.ledger.Balance(t.Context(), economy.UserAccount(user, economy.Coins))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func party(id string) redpacket.Party { return redpacket.Party{ID: id, Name: "name-" + id} }

func create(t *testing.T, n *node, from string, coins int64, shares int, key string) redpacket.Created {
	t.Helper()
	c, err := n.svc.Create(t.Context(), redpacket.CreateRequest{Room: "lobby", From: party(from), Coins: coins, Shares: shares, Key: key})
	if err != nil {
		t.Fatalf("create %d/%d by %s: %v", coins, shares, from, err)
	}
	return c
}

func sweep(t *testing.T, n *node) {
	t.Helper()
	if err := n.svc.Sweep(t.Context()); err != nil {
		t.Fatalf("sweep: %v", err)
	}
}

func packetOf(t *testing.T, n *node, id string) store.RedPacket {
	t.Helper()
	p, err := n.db.RedPacket(t.Context(), id)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// checkBooks proves the ledger's invariants, and that escrow holds exactly
// what the packets owe: the coins of every committed create, less the shares
// paid and the refunds. A settled world has no packet waiting on anything.
func checkBooks(t *testing.T, n *node, settled bool) {
	t.Helper()
	ledgertest.MustVerify(t, n.ledger)
	ctx := t.Context()
	var committed, paid, refunded, waiting int64
	q := func(sql string, dst *int64) {
		if err := n.db.Reader().QueryRowContext(ctx, sql).Scan(dst); err != nil {
			t.Fatalf("%s: %v", sql, err)
		}
	}
	q("SELECT COALESCE(SUM(coins), 0) FROM red_packets WHERE create_txn IS NOT NULL", &committed)
	q(`SELECT COALESCE(SUM(s.coins), 0) FROM red_packet_grabs g JOIN red_packet_shares s ON s.packet_id = g.packet_id AND s.idx = g.share_idx
		WHERE g.paid_txn IS NOT NULL`, &paid)
	q("SELECT COALESCE(SUM(refunded), 0) FROM red_packets", &refunded)
	q("SELECT COUNT(*) FROM red_packets WHERE status IN ('pending', 'ended')", &waiting)
	esc, err := n.ledger.Balance(ctx, economy.PlatformAccount(economy.Escrow, economy.Coins))
	if err != nil {
		t.Fatal(err)
	}
	if esc != committed-paid-refunded {
		t.Fatalf("escrow holds %d; packets committed %d, paid %d, refunded %d", esc, committed, paid, refunded)
	}
	if settled && waiting > 0 {
		t.Fatalf("%d packets still pending or ended", waiting)
	}
}

// events returns the outbox events committed so far (none is published: the
// test ledgers have no publisher), decoded.
type sentEvent struct {
	Subject string
	Type    string           `json:"type"`
	Room    string           `json:"room"`
	From    *redpacket.Party `json:"from"`
	TS      int64            `json:"ts"`
	Body    json.RawMessage  `json:"body"`
}

func events(t *testing.T, n *node) []sentEvent {
	t.Helper()
	evs, err := sqlstore.New(n.db).Pending(t.Context(), 10000)
	if err != nil {
		t.Fatal(err)
	}
	var out []sentEvent
	for _, e := range evs {
		var s sentEvent
		if err := json.Unmarshal(e.Payload, &s); err != nil {
			t.Fatalf("event %s: %v", e.Payload, err)
		}
		s.Subject = e.Subject
		out = append(out, s)
	}
	return out
}

func ofType(evs []sentEvent, typ string) []sentEvent {
	var out []sentEvent
	for _, e := range evs {
		if e.Type == typ {
			out = append(out, e)
		}
	}
	return out
}

// 1,000 grabs at once on a packet of 10 shares: exactly 10 winners, each once,
// the shares in order and summing to the packet; the losers hear why.
func TestConcurrentGrabs(t *testing.T) {
	forEngines(t, func(t *testing.T, w *world) {
		n := w.start()
		fund(t, n, "sender", 1000)
		c := create(t, n, "sender", 1000, 10, "k1")
		const grabs, twice = 1000, 200 // 800 users, 200 of whom tap twice at once
		var mu sync.Mutex
		won := map[string]redpacket.Grabbed{}
		refusals := map[string]int{}
		start := make(chan struct{})
		var wg sync.WaitGroup
		for i := range grabs {
			user := fmt.Sprintf("u%03d", i%(grabs-twice))
			wg.Go(func() {
				<-start
				g, err := n.svc.Grab(t.Context(), c.Packet.ID, party(user))
				mu.Lock()
				defer mu.Unlock()
				switch {
				case err == nil:
					if _, dup := won[user]; dup {
						t.Errorf("%s won twice", user)
					}
					won[user] = g
				case errors.Is(err, redpacket.ErrEmpty), errors.Is(err, redpacket.ErrAlreadyGrabbed):
					refusals[err.Error()]++
				default:
					t.Errorf("%s: %v", user, err)
				}
			})
		}
		began := time.Now()
		close(start)
		wg.Wait()
		took := time.Since(began)
		t.Logf("%d grabs on 10 shares in %v (%.0f grabs/s); refusals %v", grabs, took.Round(time.Millisecond), grabs/took.Seconds(), refusals)
		if len(won) != 10 {
			t.Fatalf("%d winners, want 10", len(won))
		}
		var sum int64
		shares := map[int]bool{}
		for user, g := range won {
			if shares[g.Share] || g.Coins != c.Packet.Split[g.Share] || g.User.ID != user || g.Left != 9-g.Share {
				t.Errorf("%s won %+v; split %v", user, g, c.Packet.Split)
			}
			shares[g.Share] = true
			sum += g.Coins
			if got := balance(t, n, user); got != g.Coins || g.Balance != g.Coins {
				t.Errorf("%s has %d coins (receipt %d), won %d", user, got, g.Balance, g.Coins)
			}
		}
		if sum != 1000 {
			t.Fatalf("winners got %d coins, the packet held 1000", sum)
		}
		if refusals[redpacket.ErrEmpty.Error()]+refusals[redpacket.ErrAlreadyGrabbed.Error()] != grabs-10 {
			t.Fatalf("refusals %v", refusals)
		}
		if p := packetOf(t, n, c.Packet.ID); p.Status != store.RedPacketEnded || p.Claimed != 10 {
			t.Fatalf("after the rush: %+v", p)
		}
		sweep(t, n) // settles: nothing to refund
		p := packetOf(t, n, c.Packet.ID)
		if p.Status != store.RedPacketDone || p.Refunded != 0 {
			t.Fatalf("settled: %+v", p)
		}
		if got := balance(t, n, "sender"); got != 0 {
			t.Fatalf("sender has %d", got)
		}
		evs := events(t, n)
		if len(ofType(evs, "redpacket")) != 1 || len(ofType(evs, "redpacket_grab")) != 10 || len(ofType(evs, "redpacket_end")) != 0 {
			t.Fatalf("events: %+v", evs)
		}
		checkBooks(t, n, true)
	})
}

// What is not grabbed by the expiry goes back to the sender, with a
// redpacket_end event, exactly once however often the sweep runs; a grab at
// the expiry is refused.
func TestExpiryRefundsTheRest(t *testing.T) {
	forEngines(t, func(t *testing.T, w *world) {
		n := w.start()
		fund(t, n, "sender", 150)
		c := create(t, n, "sender", 100, 5, "k1")
		if c.Balance != 50 || c.Replayed || c.Packet.Status != redpacket.Open {
			t.Fatalf("created %+v", c)
		}
		ttl := time.Duration(w.terms.s.RedPacketTTL)
		if !c.Packet.ExpiresAt.Equal(w.clock.now().Add(ttl)) {
			t.Fatalf("expires at %v, want %v", c.Packet.ExpiresAt, w.clock.now().Add(ttl))
		}
		a, err := n.svc.Grab(t.Context(), c.Packet.ID, party("a"))
		if err != nil {
			t.Fatal(err)
		}
		// The sender may grab their own packet.
		s, err := n.svc.Grab(t.Context(), c.Packet.ID, party("sender"))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := n.svc.Grab(t.Context(), c.Packet.ID, party("a")); !errors.Is(err, redpacket.ErrAlreadyGrabbed) || err.Error() != "You already grabbed this one" {
			t.Fatalf("a again: %v", err)
		}
		sweep(t, n) // not expired: nothing to do
		if p := packetOf(t, n, c.Packet.ID); p.Status != store.RedPacketOpen {
			t.Fatalf("swept before expiry: %+v", p)
		}
		w.clock.advance(ttl)
		if _, err := n.svc.Grab(t.Context(), c.Packet.ID, party("b")); !errors.Is(err, redpacket.ErrExpired) || err.Error() != "This red packet expired" {
			t.Fatalf("a grab at the expiry: %v", err)
		}
		for range 3 {
			sweep(t, n)
		}
		rest := 100 - a.Coins - s.Coins
		p := packetOf(t, n, c.Packet.ID)
		if p.Status != store.RedPacketDone || p.Refunded != rest || p.RefundTxn == "" {
			t.Fatalf("after expiry: %+v", p)
		}
		if got := balance(t, n, "sender"); got != 50+s.Coins+rest {
			t.Fatalf("sender has %d, want %d", got, 50+s.Coins+rest)
		}
		ends := ofType(events(t, n), "redpacket_end")
		if len(ends) != 1 || ends[0].Subject != "onair.economy.redpacket_end.lobby" || ends[0].Room != "lobby" || ends[0].From != nil {
			t.Fatalf("end events %+v", ends)
		}
		var body redpacket.EndBody
		if err := json.Unmarshal(ends[0].Body, &body); err != nil || body.ID != c.Packet.ID || body.Refunded != rest || body.Sender.ID != "sender" {
			t.Fatalf("end body %s (%v)", ends[0].Body, err)
		}
		if ls, err := n.svc.Open(t.Context(), "lobby", ""); err != nil || len(ls) != 0 {
			t.Fatalf("open after expiry: %+v, %v", ls, err)
		}
		checkBooks(t, n, true)
	})
}

// The events carry what the room shows, on the room's economy subject.
func TestEvents(t *testing.T) {
	forEngines(t, func(t *testing.T, w *world) {
		n := w.start()
		fund(t, n, "sender", 10)
		c := create(t, n, "sender", 10, 1, "k1")
		g, err := n.svc.Grab(t.Context(), c.Packet.ID, party("viewer"))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := n.svc.Grab(t.Context(), c.Packet.ID, party("late")); !errors.Is(err, redpacket.ErrEmpty) || err.Error() != "This red packet is empty" {
			t.Fatalf("late: %v", err)
		}
		evs := events(t, n)
		if len(evs) != 2 {
			t.Fatalf("events %+v", evs)
		}
		var cb redpacket.CreatedBody
		var gb redpacket.GrabBody
		if err := json.Unmarshal(evs[0].Body, &cb); err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal(evs[1].Body, &gb); err != nil {
			t.Fatal(err)
		}
		want := redpacket.CreatedBody{ID: c.Packet.ID, Coins: 10, Shares: 1, ExpiresAt: c.Packet.ExpiresAt.UnixMilli()}
		if evs[0].Subject != "onair.economy.redpacket.lobby" || evs[0].Type != "redpacket" || *evs[0].From != party("sender") ||
			evs[0].TS != w.clock.now().UnixMilli() || cb != want {
			t.Fatalf("created event %+v %+v", evs[0], cb)
		}
		if evs[1].Subject != "onair.economy.redpacket_grab.lobby" || *evs[1].From != party("viewer") ||
			gb != (redpacket.GrabBody{ID: c.Packet.ID, User: party("viewer"), Coins: 10, Left: 0}) || g.Coins != 10 {
			t.Fatalf("grab event %+v %+v", evs[1], gb)
		}
	})
}

// Not enough coins: the sentence names both amounts, and nothing is left
// behind: no packet, no transaction, no event.
func TestInsufficientFunds(t *testing.T) {
	forEngines(t, func(t *testing.T, w *world) {
		n := w.start()
		fund(t, n, "poor", 120)
		_, err := n.svc.Create(t.Context(), redpacket.CreateRequest{Room: "lobby", From: party("poor"), Coins: 500, Shares: 5, Key: "k1"})
		if !errors.Is(err, economy.ErrInsufficientFunds) || err.Error() != "Not enough coins: 500 needed, you have 120" {
			t.Fatalf("create: %v", err)
		}
		var rows int
		if err := n.db.Reader().QueryRowContext(t.Context(), "SELECT COUNT(*) FROM red_packets").Scan(&rows); err != nil || rows != 0 {
			t.Fatalf("%d packets (%v)", rows, err)
		}
		if rep := ledgertest.MustVerify(t, n.ledger); rep.Txns != 1 {
			t.Fatalf("%d transactions, want the recharge only", rep.Txns)
		}
		if evs := events(t, n); len(evs) != 0 {
			t.Fatalf("events %+v", evs)
		}
		if got := balance(t, n, "poor"); got != 120 {
			t.Fatalf("poor has %d", got)
		}

		// The balance looked enough (a spend raced it): the ledger refuses,
		// the packet never opens, and a retry once the coins are there does.
		n.faults.balanceBonus = 1000
		_, err = n.svc.Create(t.Context(), redpacket.CreateRequest{Room: "lobby", From: party("poor"), Coins: 500, Shares: 5, Key: "k2"})
		if !errors.Is(err, economy.ErrInsufficientFunds) || err.Error() != "Not enough coins: 500 needed, you have 120" {
			t.Fatalf("create past a stale balance: %v", err)
		}
		if ls, _ := n.svc.Open(t.Context(), "lobby", ""); len(ls) != 0 {
			t.Fatalf("listed: %+v", ls)
		}
		w.clock.advance(time.Hour)
		sweep(t, n)
		checkBooks(t, n, true)
		if got := balance(t, n, "poor"); got != 120 {
			t.Fatalf("poor has %d", got)
		}
		fund(t, n, "poor", 400)
		c := create(t, n, "poor", 500, 5, "k2")
		if c.Packet.Status != redpacket.Open || c.Balance != 20 || !c.Packet.ExpiresAt.Equal(w.clock.now().Add(time.Duration(w.terms.s.RedPacketTTL))) {
			t.Fatalf("retried: %+v", c)
		}
		checkBooks(t, n, false)
	})
}

// A retry of a create returns the same packet and moves nothing; the same key
// for another packet is refused; concurrent retries make one packet.
func TestIdempotentCreate(t *testing.T) {
	forEngines(t, func(t *testing.T, w *world) {
		n := w.start()
		fund(t, n, "s", 100)
		first := create(t, n, "s", 60, 3, "k1")
		again := create(t, n, "s", 60, 3, "k1")
		if !again.Replayed || again.Packet.ID != first.Packet.ID || again.TxnID != first.TxnID || !slices.Equal(again.Packet.Split, first.Packet.Split) {
			t.Fatalf("retry: %+v, first %+v", again, first)
		}
		// Spent since: the retry still answers (the coins went into it).
		fundless, err := n.svc.Create(t.Context(), redpacket.CreateRequest{Room: "lobby", From: party("s"), Coins: 40, Shares: 1, Key: "k2"})
		if err != nil || fundless.Balance != 0 {
			t.Fatalf("second packet: %+v, %v", fundless, err)
		}
		if again := create(t, n, "s", 60, 3, "k1"); !again.Replayed || again.Packet.ID != first.Packet.ID {
			t.Fatalf("retry with no coins left: %+v", again)
		}
		for _, r := range []redpacket.CreateRequest{
			{Room: "lobby", From: party("s"), Coins: 61, Shares: 3, Key: "k1"},
			{Room: "other", From: party("s"), Coins: 60, Shares: 3, Key: "k1"},
		} {
			if _, err := n.svc.Create(t.Context(), r); !errors.Is(err, economy.ErrKeyReused) {
				t.Fatalf("key reused for %+v: %v", r, err)
			}
		}
		// Another user's same client key is another packet.
		fund(t, n, "t", 5)
		if other := create(t, n, "t", 5, 1, "k1"); other.Packet.ID == first.Packet.ID {
			t.Fatal("two users' keys collide")
		}
		// Eight at once with one key: one packet, one debit.
		fund(t, n, "u", 30)
		var wg sync.WaitGroup
		ids := make([]string, 8)
		for i := range ids {
			wg.Go(func() {
				c, err := n.svc.Create(t.Context(), redpacket.CreateRequest{Room: "lobby", From: party("u"), Coins: 30, Shares: 2, Key: "same"})
				if err != nil {
					t.Errorf("create %d: %v", i, err)
				}
				ids[i] = c.Packet.ID
			})
		}
		wg.Wait()
		if ids[0] == "" || slices.ContainsFunc(ids, func(id string) bool { return id != ids[0] }) {
			t.Fatalf("ids %v", ids)
		}
		if got := balance(t, n, "u"); got != 0 {
			t.Fatalf("u has %d", got)
		}
		checkBooks(t, n, false)
	})
}

func TestCreateRefusals(t *testing.T) {
	forEngines(t, func(t *testing.T, w *world) {
		n := w.start()
		fund(t, n, "s", 1_000_000)
		w.terms.s.RedPacketMaxCoins, w.terms.s.RedPacketMaxShares = 1000, 20
		n2 := w.start() // reads the changed terms
		for _, c := range []struct {
			coins  int64
			shares int
			key    string
			want   string
		}{
			{0, 1, "k", "A red packet holds 1 to 1000 coins"},
			{1001, 1, "k", "A red packet holds 1 to 1000 coins"},
			{100, 0, "k", "A red packet has 1 to 20 shares"},
			{100, 21, "k", "A red packet has 1 to 20 shares"},
			{5, 6, "k", "5 coins cannot fill 6 shares: each share is at least 1 coin"},
			{5, 1, "", "Send an idempotency_key of 1 to 64 printable characters without spaces"},
			{5, 1, "with space", "Send an idempotency_key of 1 to 64 printable characters without spaces"},
		} {
			_, err := n2.svc.Create(t.Context(), redpacket.CreateRequest{Room: "lobby", From: party("s"), Coins: c.coins, Shares: c.shares, Key: c.key})
			if !errors.Is(err, redpacket.ErrInvalid) || err.Error() != c.want {
				t.Errorf("%d/%d %q: %v, want %q", c.coins, c.shares, c.key, err, c.want)
			}
		}
		if _, err := n2.svc.Grab(t.Context(), "01NOSUCHPACKET0000000000000", party("x")); !errors.Is(err, redpacket.ErrNotFound) {
			t.Fatalf("grab of nothing: %v", err)
		}
		checkBooks(t, n, true)
	})
}

// A node stops at the worst moments; a new one over the same store finishes
// everything, and the books balance after each step.
func TestRestartFinishes(t *testing.T) {
	forEngines(t, func(t *testing.T, w *world) {
		ctx := t.Context()
		n := w.start()
		fund(t, n, "s", 1000)

		// 1. The create committed, its answer lost: the packet stays pending
		// (invisible), then a restarted node opens it once it is stale.
		n.faults.failAfter("redpacket_create", 1)
		if _, err := n.svc.Create(ctx, redpacket.CreateRequest{Room: "lobby", From: party("s"), Coins: 100, Shares: 4, Key: "lost"}); !errors.Is(err, errCrash) {
			t.Fatalf("create: %v", err)
		}
		// 2. Stopped after writing the packet, before posting: nothing moved.
		n.faults.failBefore("redpacket_create", 1)
		if _, err := n.svc.Create(ctx, redpacket.CreateRequest{Room: "lobby", From: party("s"), Coins: 200, Shares: 2, Key: "unsent"}); !errors.Is(err, errCrash) {
			t.Fatalf("create: %v", err)
		}
		if got := balance(t, n, "s"); got != 900 {
			t.Fatalf("s has %d after one committed create", got)
		}
		// Escrow holds a create that no packet records yet: only the ledger's
		// own invariants hold until the sweep.
		ledgertest.MustVerify(t, n.ledger)
		if ls, _ := n.svc.Open(ctx, "lobby", ""); len(ls) != 0 {
			t.Fatalf("pending packets listed: %+v", ls)
		}

		// 3. An open packet: one grab's payment never posted, another's
		// posted with its answer lost.
		c := create(t, n, "s", 300, 3, "open")
		n.faults.failBefore("redpacket_grab", 1)
		if _, err := n.svc.Grab(ctx, c.Packet.ID, party("g1")); !errors.Is(err, errCrash) {
			t.Fatalf("grab: %v", err)
		}
		n.faults.failAfter("redpacket_grab", 1)
		if _, err := n.svc.Grab(ctx, c.Packet.ID, party("g2")); !errors.Is(err, errCrash) {
			t.Fatalf("grab: %v", err)
		}
		if got := balance(t, n, "g1"); got != 0 {
			t.Fatalf("g1 has %d before being paid", got)
		}
		ledgertest.MustVerify(t, n.ledger)

		// Restart. The second node sweeps once the stale and repay delays
		// passed; g2's lost answer is replayed, not paid twice.
		_ = n.svc.Close()
		n2 := w.start()
		sweep(t, n2) // too early for the pending creates
		if p, _ := n2.db.RedPacketByKey(ctx, "redpacket:create:s:lost"); p.Status != store.RedPacketPending {
			t.Fatalf("swept before stale: %+v", p)
		}
		w.clock.advance(redpacket.DefaultConfig().StaleAfter + time.Second)
		sweep(t, n2)
		lost, _ := n2.db.RedPacketByKey(ctx, "redpacket:create:s:lost")
		unsent, _ := n2.db.RedPacketByKey(ctx, "redpacket:create:s:unsent")
		if lost.Status != store.RedPacketOpen || lost.CreateTxn == "" {
			t.Fatalf("the committed create: %+v", lost)
		}
		// The unsent one was never refused: finishing it is what the
		// client's retry would have done.
		if unsent.Status != store.RedPacketOpen {
			t.Fatalf("the unsent create: %+v", unsent)
		}
		if got := balance(t, n2, "s"); got != 1000-100-200-300 {
			t.Fatalf("s has %d", got)
		}
		gs, _ := n2.db.RedPacketGrabs(ctx, c.Packet.ID)
		for _, g := range gs {
			if g.PaidTxn == "" {
				t.Fatalf("unpaid after the sweep: %+v", g)
			}
			if got := balance(t, n2, g.UserID); got != g.Coins {
				t.Fatalf("%s has %d, won %d", g.UserID, got, g.Coins)
			}
		}
		if n := len(ofType(events(t, n2), "redpacket_grab")); n != 2 {
			t.Fatalf("%d grab events, want 2", n)
		}
		checkBooks(t, n2, false)

		// 4. A grab claimed, its payment lost: the same user's next tap pays
		// it (and says what they won); a new user still gets the last share.
		n2.faults.failBefore("redpacket_grab", 1)
		if _, err := n2.svc.Grab(ctx, c.Packet.ID, party("g3")); !errors.Is(err, errCrash) {
			t.Fatalf("grab: %v", err)
		}
		g3, err := n2.svc.Grab(ctx, c.Packet.ID, party("g3"))
		if err != nil || g3.Share != 2 || balance(t, n2, "g3") != g3.Coins {
			t.Fatalf("g3 again: %+v, %v", g3, err)
		}
		if _, err := n2.svc.Grab(ctx, c.Packet.ID, party("g3")); !errors.Is(err, redpacket.ErrAlreadyGrabbed) {
			t.Fatalf("g3 a third time: %v", err)
		}

		// 5. Expired, its refund lost on the way: the next node refunds once.
		_, err = n2.svc.Grab(ctx, lost.ID, party("g1"))
		if err != nil {
			t.Fatal(err)
		}
		w.clock.advance(time.Duration(w.terms.s.RedPacketTTL))
		n2.faults.failBefore("redpacket_refund", 1)
		n2.faults.failAfter("redpacket_refund", 1)
		if err := n2.svc.Sweep(ctx); !errors.Is(err, errCrash) {
			t.Fatalf("sweep: %v", err)
		}
		ledgertest.MustVerify(t, n2.ledger)
		_ = n2.svc.Close()
		n3 := w.start()
		sweep(t, n3)
		sweep(t, n3)
		checkBooks(t, n3, true)
		var grabbed int64
		for _, id := range []string{lost.ID, unsent.ID, c.Packet.ID} {
			gs, _ := n3.db.RedPacketGrabs(ctx, id)
			for _, g := range gs {
				if g.UserID == "s" {
					t.Fatal("the sender grabbed")
				}
				grabbed += g.Coins
			}
		}
		if got := balance(t, n3, "s"); got != 1000-grabbed {
			t.Fatalf("s has %d; %d were grabbed of 1000", got, grabbed)
		}
		if n := len(ofType(events(t, n3), "redpacket_end")); n != 2 { // lost and unsent; the open one is empty
			t.Fatalf("%d end events", n)
		}
	})
}

// A pending create whose post the ledger refuses when the sweeper decides it
// is canceled: nothing moved, and it is never listed.
func TestStaleRefusedCreateIsCanceled(t *testing.T) {
	forEngines(t, func(t *testing.T, w *world) {
		ctx := t.Context()
		n := w.start()
		fund(t, n, "s", 50)
		// A retry (the second attempt) refused leaves the packet pending: an
		// earlier attempt might still commit.
		n.faults.failBefore("redpacket_create", 1)
		if _, err := n.svc.Create(ctx, redpacket.CreateRequest{Room: "lobby", From: party("s"), Coins: 50, Shares: 1, Key: "k"}); !errors.Is(err, errCrash) {
			t.Fatal(err)
		}
		fundSpend := ledgertest.Gift("spend", "s", "streamer", 50, 50)
		if _, err := n.ledger.Post(ctx, fundSpend); err != nil {
			t.Fatal(err)
		}
		n.faults.balanceBonus = 50 // the pre-check passes; the ledger does not
		if _, err := n.svc.Create(ctx, redpacket.CreateRequest{Room: "lobby", From: party("s"), Coins: 50, Shares: 1, Key: "k"}); !errors.Is(err, economy.ErrInsufficientFunds) {
			t.Fatal(err)
		}
		p, _ := n.db.RedPacketByKey(ctx, "redpacket:create:s:k")
		if p.Status != store.RedPacketPending {
			t.Fatalf("after a refused retry: %+v", p)
		}
		w.clock.advance(redpacket.DefaultConfig().StaleAfter + time.Second)
		sweep(t, n)
		p, _ = n.db.RedPacketByKey(ctx, "redpacket:create:s:k")
		if p.Status != store.RedPacketCanceled || p.CreateTxn != "" {
			t.Fatalf("stale and refused: %+v", p)
		}
		sweep(t, n)
		checkBooks(t, n, true)
		if evs := ofType(events(t, n), "redpacket"); len(evs) != 0 {
			t.Fatalf("events %+v", evs)
		}
	})
}

// The room's list shows what can be grabbed, and what the viewer won.
func TestOpenList(t *testing.T) {
	forEngines(t, func(t *testing.T, w *world) {
		n := w.start()
		fund(t, n, "s", 100)
		a := create(t, n, "s", 10, 2, "a")
		w.clock.advance(time.Second)
		b := create(t, n, "s", 20, 1, "b")
		g, err := n.svc.Grab(t.Context(), a.Packet.ID, party("v"))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := n.svc.Grab(t.Context(), b.Packet.ID, party("w")); err != nil {
			t.Fatal(err)
		}
		ls, err := n.svc.Open(t.Context(), "lobby", "v")
		if err != nil {
			t.Fatal(err)
		}
		if len(ls) != 1 || ls[0].ID != a.Packet.ID || ls[0].Left() != 1 || ls[0].Mine == nil || ls[0].Mine.Coins != g.Coins || ls[0].Sender != party("s") {
			t.Fatalf("list %+v", ls)
		}
		if ls, _ := n.svc.Open(t.Context(), "lobby", ""); len(ls) != 1 || ls[0].Mine != nil {
			t.Fatalf("anonymous list %+v", ls)
		}
		if ls, _ := n.svc.Open(t.Context(), "elsewhere", "v"); len(ls) != 0 {
			t.Fatalf("another room: %+v", ls)
		}
	})
}

// The sweeper runs on its own once started, and Close stops it.
func TestSweeperRuns(t *testing.T) {
	w := newWorld(t, ledgertest.Engines[0])
	db := ledgertest.Open(t, w.dsn)
	l := ledgertest.NewLedger(t, sqlstore.New(db), economy.Config{})
	svc, err := redpacket.New(redpacket.Config{SweepInterval: 10 * time.Millisecond}, redpacket.Deps{Store: dbstore.New(db), Ledger: l, Terms: w.terms, Now: w.clock.now})
	if err != nil {
		t.Fatal(err)
	}
	n := &node{db: db, ledger: l, svc: svc}
	fund(t, n, "s", 10)
	c := create(t, n, "s", 10, 2, "k")
	svc.Start()
	svc.Start()
	w.clock.advance(time.Hour)
	deadline := time.Now().Add(10 * time.Second)
	for packetOf(t, n, c.Packet.ID).Status != store.RedPacketDone {
		if time.Now().After(deadline) {
			t.Fatal("the sweeper did not refund the expired packet")
		}
		time.Sleep(10 * time.Millisecond)
	}
	if err := svc.Close(); err != nil {
		t.Fatal(err)
	}
	_ = svc.Close()
	if got := balance(t, n, "s"); got != 10 {
		t.Fatalf("s has %d", got)
	}
	checkBooks(t, n, true)
}
