package wallet_test

import (
	"context"
	"errors"
	"maps"
	"sync"
	"testing"
	"time"

	"github.com/onair-live/onair/economy"
	"github.com/onair-live/onair/economy/ledgertest"
	"github.com/onair-live/onair/economy/payment"
	"github.com/onair-live/onair/economy/settings"
	"github.com/onair-live/onair/economy/sqlstore"
	"github.com/onair-live/onair/economy/wallet"
	"github.com/onair-live/onair/store"
)

// clock is a settable clock for the service, the dev provider and the guard.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// fixedTerms are the economy's terms as an admin would have saved them.
type fixedTerms struct{ s settings.Settings }

func (f fixedTerms) Settings(context.Context) (settings.Settings, error) { return f.s, nil }

// env is the service on a real store and ledger of one engine.
type env struct {
	t      *testing.T
	db     *store.DB
	ledger *economy.Ledger
	svc    *wallet.Service
	dev    *payment.Dev
	clock  *clock
	terms  settings.Settings
	store  *faultyStore  // the service's store: db, with faults to inject
	post   *faultyLedger // the service's ledger: ledger, with faults to inject
}

func newEnv(t *testing.T, e ledgertest.Engine) *env {
	t.Helper()
	db := e.Open(t)
	l, err := economy.NewLedger(economy.Config{}, economy.Deps{Store: sqlstore.New(db)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	c := &clock{t: time.Now().UTC().Truncate(time.Second)}
	dev, err := payment.NewDev(payment.DevConfig{Now: c.Now})
	if err != nil {
		t.Fatal(err)
	}
	terms := settings.Default()
	terms.WithdrawMin, terms.WithdrawDailyLimit = 100, 1000
	fs := &faultyStore{DB: db}
	fl := &faultyLedger{Ledger: l}
	svc, err := wallet.New(wallet.Config{}, wallet.Deps{Store: fs, Ledger: fl, Terms: fixedTerms{terms},
		Providers: []payment.Provider{dev}, Guard: payment.NewMemoryGuard(c.Now), Now: c.Now})
	if err != nil {
		t.Fatal(err)
	}
	return &env{t: t, db: db, ledger: l, svc: svc, dev: dev, clock: c, terms: terms, store: fs, post: fl}
}

// eachEngine runs fn on SQLite and on PostgreSQL.
func eachEngine(t *testing.T, fn func(t *testing.T, e *env)) {
	for _, eng := range ledgertest.Engines {
		t.Run(eng.Name, func(t *testing.T) { fn(t, newEnv(t, eng)) })
	}
}

func (e *env) user(name string, role store.Role) string {
	e.t.Helper()
	u, err := e.db.CreateUser(e.t.Context(), store.NewUser{Name: name, DisplayName: name, Role: role})
	if err != nil {
		e.t.Fatal(err)
	}
	return u.ID
}

// books are the balances of every account the tests touch, and how many
// transactions the ledger holds.
type books struct {
	balances map[economy.AccountID]int64
	txns     int64
}

var platformAccounts = []economy.AccountID{
	economy.PlatformAccount(economy.CashIn, economy.Cents),
	economy.PlatformAccount(economy.Revenue, economy.Cents),
	economy.PlatformAccount(economy.Issuance, economy.Coins),
	economy.PlatformAccount(economy.Issuance, economy.Earnings),
	economy.PlatformAccount(economy.Issuance, economy.Cents),
	economy.PlatformAccount(economy.Holds, economy.Earnings),
	economy.PlatformAccount(economy.Payouts, economy.Cents),
}

// books reads the books of the users' accounts and the platform's, and checks
// that the ledger verifies.
func (e *env) books(users ...string) books {
	e.t.Helper()
	ids := append([]economy.AccountID(nil), platformAccounts...)
	for _, u := range users {
		ids = append(ids, economy.UserAccount(u, economy.Coins), economy.UserAccount(u, economy.Earnings))
	}
	bal, err := e.ledger.Balances(e.t.Context(), ids...)
	if err != nil {
		e.t.Fatal(err)
	}
	return books{balances: bal, txns: e.verify().Txns}
}

// verify checks every invariant of the ledger.
func (e *env) verify() economy.Report {
	e.t.Helper()
	r, err := e.ledger.Verify(e.t.Context())
	if err != nil {
		e.t.Fatal(err)
	}
	if !r.OK() {
		e.t.Fatalf("ledger verify: %v", r.Problems)
	}
	return r
}

func (e *env) sameBooks(before, after books, what string) {
	e.t.Helper()
	if before.txns != after.txns || !maps.Equal(before.balances, after.balances) {
		e.t.Fatalf("%s moved money: %d → %d transactions, balances %v → %v", what, before.txns, after.txns, before.balances, after.balances)
	}
}

func (e *env) balance(user string, c economy.Currency) int64 {
	e.t.Helper()
	b, err := e.svc.Balance(e.t.Context(), user, c)
	if err != nil {
		e.t.Fatal(err)
	}
	return b
}

// grant gives a streamer earnings, as gifts would.
func (e *env) grant(user string, earnings int64) {
	e.t.Helper()
	_, err := e.ledger.Post(e.t.Context(), economy.Txn{Key: "grant:" + user, Kind: "grant", Postings: []economy.Posting{
		{Account: economy.PlatformAccount(economy.Issuance, economy.Earnings), Currency: economy.Earnings, Amount: -earnings},
		{Account: economy.UserAccount(user, economy.Earnings), Currency: economy.Earnings, Amount: earnings},
	}})
	if err != nil {
		e.t.Fatal(err)
	}
}

func wantErr(t *testing.T, err, want error) {
	t.Helper()
	if !errors.Is(err, want) {
		t.Fatalf("got error %v, want %v", err, want)
	}
}

// faultyStore is the store with one failure to inject: the next call of the
// named method fails (before it writes anything).
type faultyStore struct {
	*store.DB
	mu   sync.Mutex
	fail string
}

var errInjected = errors.New("injected failure: the process died here")

func (f *faultyStore) failNext(method string) { f.mu.Lock(); f.fail = method; f.mu.Unlock() }

func (f *faultyStore) fault(method string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.fail == method {
		f.fail = ""
		return errInjected
	}
	return nil
}

func (f *faultyStore) FinishSettle(ctx context.Context, id payment.OrderID, next payment.Status, txn string) (wallet.Order, error) {
	if err := f.fault("FinishSettle"); err != nil {
		return wallet.Order{}, err
	}
	return f.DB.FinishSettle(ctx, id, next, txn)
}

func (f *faultyStore) HoldPlaced(ctx context.Context, id, txn string) (wallet.Withdrawal, error) {
	if err := f.fault("HoldPlaced"); err != nil {
		return wallet.Withdrawal{}, err
	}
	return f.DB.HoldPlaced(ctx, id, txn)
}

func (f *faultyStore) SettleWithdrawal(ctx context.Context, id, txn string) (wallet.Withdrawal, error) {
	if err := f.fault("SettleWithdrawal"); err != nil {
		return wallet.Withdrawal{}, err
	}
	return f.DB.SettleWithdrawal(ctx, id, txn)
}

// faultyLedger fails the next Post, without posting, when told to.
type faultyLedger struct {
	*economy.Ledger
	mu   sync.Mutex
	fail bool
}

func (f *faultyLedger) failNext() { f.mu.Lock(); f.fail = true; f.mu.Unlock() }

func (f *faultyLedger) Post(ctx context.Context, t economy.Txn) (economy.Receipt, error) {
	f.mu.Lock()
	fail := f.fail
	f.fail = false
	f.mu.Unlock()
	if fail {
		return economy.Receipt{}, errInjected
	}
	return f.Ledger.Post(ctx, t)
}
