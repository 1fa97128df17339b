package gift_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/onair-live/onair/economy"
	"github.com/onair-live/onair/economy/gift"
	"github.com/onair-live/onair/economy/ledgertest"
	"github.com/onair-live/onair/economy/settings"
	"github.com/onair-live/onair/economy/sqlstore"
	"github.com/onair-live/onair/store"
)

// storeCatalog and storeTerms read the real system of record, as the app does.
type storeCatalog struct{ db *store.DB }

func (c storeCatalog) Gift(ctx context.Context, id string) (gift.Item, error) {
	g, err := c.db.GiftByID(ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		return gift.Item{}, fmt.Errorf("%w: %q", gift.ErrNoSuchGift, id)
	}
	return gift.Item{ID: g.ID, Name: g.Name, Icon: g.Icon, Effect: g.Effect, Price: g.PriceCoins, Enabled: g.Enabled}, err
}

type storeTerms struct{ db *store.DB }

func (t storeTerms) Settings(ctx context.Context) (settings.Settings, error) {
	doc, err := t.db.EconomySettings(ctx)
	if err != nil {
		return settings.Settings{}, err
	}
	return settings.Parse(doc)
}

func (t storeTerms) Commission(ctx context.Context, id string) (int, bool, error) {
	return t.db.StreamerCommission(ctx, id)
}

type fixture struct {
	db     *store.DB
	ledger *economy.Ledger
	svc    *gift.Service
	fan    gift.Party
	star   gift.Party
	clock  time.Time
}

func setup(t *testing.T, e ledgertest.Engine) *fixture {
	t.Helper()
	db := e.Open(t)
	l, err := economy.NewLedger(economy.Config{}, economy.Deps{Store: sqlstore.New(db)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	f := &fixture{db: db, ledger: l, fan: gift.Party{ID: "01FANFANFANFANFANFANFANFAN", Name: "fan"},
		star: gift.Party{ID: "01STARSTARSTARSTARSTARSTAR", Name: "star"}, clock: time.Now()}
	f.svc = &gift.Service{Catalog: storeCatalog{db}, Terms: storeTerms{db}, Ledger: l, Now: func() time.Time { return f.clock }}
	return f
}

// topUp gives the fan coins, as a recharge would.
func (f *fixture) topUp(t *testing.T, coins int64) {
	t.Helper()
	_, err := f.ledger.Post(t.Context(), economy.Txn{Key: fmt.Sprint("topup:", time.Now().UnixNano()), Kind: "recharge", Postings: []economy.Posting{
		{Account: economy.PlatformAccount(economy.Issuance, economy.Coins), Currency: economy.Coins, Amount: -coins},
		{Account: economy.UserAccount(f.fan.ID, economy.Coins), Currency: economy.Coins, Amount: coins},
	}})
	if err != nil {
		t.Fatal(err)
	}
}

func (f *fixture) balances(t *testing.T) (fanCoins, starEarnings, revenue int64) {
	t.Helper()
	a, b, c := economy.UserAccount(f.fan.ID, economy.Coins), economy.UserAccount(f.star.ID, economy.Earnings), economy.PlatformAccount(economy.Revenue, economy.Earnings)
	m, err := f.ledger.Balances(t.Context(), a, b, c)
	if err != nil {
		t.Fatal(err)
	}
	return m[a], m[b], m[c]
}

func (f *fixture) verify(t *testing.T) {
	t.Helper()
	r, err := f.ledger.Verify(t.Context())
	if err != nil || !r.OK() {
		t.Fatalf("ledger verify: %v %v", r.Problems, err)
	}
}

func (f *fixture) send(item string, count int, key string) (gift.Result, error) {
	return f.svc.Send(context.Background(), gift.Request{Room: "star", Broadcast: "01BROADCASTBROADCASTBROADC", From: f.fan, To: f.star, Gift: item, Count: count, Key: key})
}

func TestSend(t *testing.T) {
	for _, e := range ledgertest.Engines {
		t.Run(e.Name, func(t *testing.T) {
			f := setup(t, e)
			f.topUp(t, 1000)
			// 3 cakes at 100 coins and the default 50% commission.
			res, err := f.send("cake", 3, "k1")
			if err != nil {
				t.Fatal(err)
			}
			if res.Coins != 300 || res.Balance != 700 || res.Combo != 3 || res.Replayed {
				t.Fatalf("result %+v", res)
			}
			if c, e, r := f.balances(t); c != 700 || e != 150 || r != 150 {
				t.Fatalf("balances: fan %d coins, star %d earnings, revenue %d", c, e, r)
			}
			// A retry moves nothing and answers the same.
			again, err := f.send("cake", 3, "k1")
			if err != nil || !again.Replayed || again.TxnID != res.TxnID {
				t.Fatalf("retry %+v %v", again, err)
			}
			if _, err := f.send("rose", 1, "k1"); !errors.Is(err, economy.ErrKeyReused) {
				t.Fatalf("the key for another gift: %v", err)
			}
			// Not enough coins: refused in words, nothing moves.
			_, err = f.send("rocket", 1, "k2")
			var short *economy.InsufficientFundsError
			if !errors.As(err, &short) || err.Error() == "" {
				t.Fatalf("a rocket with 700 coins: %v", err)
			}
			t.Logf("refusal: %v", err)
			// The streamer's own commission applies instead of the platform's.
			if err := f.db.SetStreamerCommission(t.Context(), "01STARSTARSTARSTARSTARSTAR", 20); err == nil {
				t.Fatal("a commission for a user that does not exist")
			}
			for _, bad := range []struct {
				item  string
				count int
				key   string
				want  error
			}{
				{"cake", 0, "k3", gift.ErrBadRequest},
				{"cake", gift.MaxCount + 1, "k3", gift.ErrBadRequest},
				{"cake", 1, "", gift.ErrBadRequest},
				{"nothing", 1, "k3", gift.ErrNoSuchGift},
			} {
				if _, err := f.send(bad.item, bad.count, bad.key); !errors.Is(err, bad.want) {
					t.Errorf("%+v: %v", bad, err)
				}
			}
			if _, err := f.svc.Send(t.Context(), gift.Request{Room: "star", From: f.star, To: f.star, Gift: "rose", Count: 1, Key: "self"}); !errors.Is(err, gift.ErrBadRequest) {
				t.Errorf("a gift to oneself: %v", err)
			}
			if c, e, r := f.balances(t); c != 700 || e != 150 || r != 150 {
				t.Fatalf("refusals moved money: %d %d %d", c, e, r)
			}
			f.verify(t)
		})
	}
}

// The same gift again within the window continues the combo; a pause, a
// refused send or another gift does not.
func TestCombo(t *testing.T) {
	f := setup(t, ledgertest.Engines[0])
	f.topUp(t, 1000)
	step := func(item string, n int, key string, wantCombo int) {
		t.Helper()
		res, err := f.send(item, n, key)
		if err != nil {
			t.Fatal(err)
		}
		if res.Combo != wantCombo {
			t.Fatalf("%s x%d (%s): combo %d, want %d", item, n, key, res.Combo, wantCombo)
		}
	}
	step("rose", 1, "a", 1)
	f.clock = f.clock.Add(time.Second)
	step("rose", 1, "b", 2)
	f.clock = f.clock.Add(4 * time.Second)
	step("rose", 10, "c", 12)
	step("heart", 1, "d", 1) // another gift has its own combo
	if _, err := f.send("castle", 1, "e"); err == nil {
		t.Fatal("a castle with too few coins")
	}
	f.clock = f.clock.Add(6 * time.Second) // a pause longer than the window
	step("rose", 1, "f", 1)
	// The event carries the combo and leaves the earnings for the boards.
	ev := lastEvent(t, f)
	if ev.Type != "gift" || ev.Room != "star" || ev.Body.Combo != 1 || ev.Body.Coins != 10 || ev.Body.Earned != 5 ||
		ev.Body.To.Name != "star" || ev.From.Name != "fan" || ev.Body.Effect != "banner" || ev.Body.Broadcast == "" {
		t.Fatalf("event %+v", ev)
	}
}

func lastEvent(t *testing.T, f *fixture) gift.Event {
	t.Helper()
	page, err := f.ledger.History(t.Context(), economy.UserAccount(f.fan.ID, economy.Coins), "", 1)
	if err != nil || len(page.Entries) != 1 {
		t.Fatal(page, err)
	}
	evs, err := sqlstore.New(f.db).Pending(t.Context(), 1000)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range evs {
		if e.TxnID == page.Entries[0].TxnID {
			var ev gift.Event
			if err := json.Unmarshal(e.Payload, &ev); err != nil {
				t.Fatal(err)
			}
			if e.Subject != gift.Subject("star") {
				t.Fatalf("subject %s", e.Subject)
			}
			return ev
		}
	}
	t.Fatal("no outbox event for the last send")
	return gift.Event{}
}

// Many senders at once: every accepted send is paid for, nobody overdraws,
// and the books balance.
func TestConcurrentSends(t *testing.T) {
	for _, e := range ledgertest.Engines {
		t.Run(e.Name, func(t *testing.T) {
			f := setup(t, e)
			f.topUp(t, 500)
			var wg sync.WaitGroup
			var mu sync.Mutex
			accepted := 0
			for i := range 64 {
				wg.Go(func() {
					_, err := f.send("rose", 1, fmt.Sprint("c", i))
					mu.Lock()
					defer mu.Unlock()
					if err == nil {
						accepted++
					} else if !errors.Is(err, economy.ErrInsufficientFunds) {
						t.Errorf("send %d: %v", i, err)
					}
				})
			}
			wg.Wait()
			if accepted != 50 {
				t.Fatalf("%d roses accepted with coins for 50", accepted)
			}
			if c, e, r := f.balances(t); c != 0 || e != 250 || r != 250 {
				t.Fatalf("after 50 roses: %d %d %d", c, e, r)
			}
			f.verify(t)
		})
	}
}
