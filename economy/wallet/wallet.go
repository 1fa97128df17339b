package wallet

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"time"

	"github.com/onair-live/onair/economy"
	"github.com/onair-live/onair/economy/payment"
	"github.com/onair-live/onair/economy/settings"
)

// Order is a recharge order.
type Order struct {
	ID     payment.OrderID
	UserID string
	// Key is the client's idempotency key, unique per user.
	Key             string
	Package         string
	PriceCents      int64
	Currency        string // ISO 4217
	Coins           int64  // bonus included, at the terms when it was created
	Provider        string
	ProviderOrderID string // "" until the checkout opened
	CheckoutURL     string
	Status          payment.Status
	// Settling is the status a verified callback is moving the order to
	// while its ledger transaction is posted; "" when none.
	Settling             payment.Status
	CreditTxn, RefundTxn string // ledger transaction ids, "" until posted
	CreatedAt, UpdatedAt time.Time
}

// payment is the order as economy/payment sees it.
func (o Order) payment() payment.Order {
	return payment.Order{ID: o.ID, Provider: o.Provider, ProviderOrderID: o.ProviderOrderID,
		Amount: o.PriceCents, Currency: o.Currency, Status: o.Status}
}

// WithdrawalStatus is a withdrawal's state.
type WithdrawalStatus string

// The states of a withdrawal: holding → requested → approved | rejected.
const (
	// Holding: the row exists and its hold is being posted; a refused hold
	// deletes it.
	Holding   WithdrawalStatus = "holding"
	Requested WithdrawalStatus = "requested"
	Approved  WithdrawalStatus = "approved"
	Rejected  WithdrawalStatus = "rejected"
)

// Withdrawal is a streamer's request to be paid their earnings.
type Withdrawal struct {
	ID              string
	UserID          string
	Key             string // the client's idempotency key, unique per user
	Earnings        int64
	CentsPerEarning int64 // the ratio when it was requested
	Cents           int64 // Earnings × CentsPerEarning
	Status          WithdrawalStatus
	HoldTxn         string // the hold's ledger transaction, "" until posted
	SettleTxn       string // the approval's or rejection's, "" until posted
	DecidedBy       string // the admin's user id
	DecidedAt       time.Time
	Reason          string
	CreatedAt       time.Time // its UTC day counts toward the daily limit
	UpdatedAt       time.Time
}

// OrderQuery selects orders, newest first.
type OrderQuery struct {
	UserID string         // "" for every user's
	Status payment.Status // "" for any
	Before string         // an order id: only older ones ("" from the newest)
	Limit  int            // 1 to MaxPage
}

// WithdrawalQuery selects withdrawals, newest first.
type WithdrawalQuery struct {
	UserID string           // "" for every user's
	Status WithdrawalStatus // "" for any
	Before string           // a withdrawal id: only older ones
	Limit  int              // 1 to MaxPage
}

// MaxPage is the most orders or withdrawals one page returns.
const MaxPage = 100

// Store keeps orders and withdrawals; the system of record implements it.
// Methods return errors matching ErrNotFound for an unknown id. Times are
// kept to the millisecond.
type Store interface {
	// CreateOrder stores o (ID, Status pending and the times are set by the
	// store) and returns it with created true; if the user already has an
	// order under o.Key it returns that one, unchanged, with created false.
	CreateOrder(ctx context.Context, o Order) (Order, bool, error)
	// SetCheckout records the provider's order id and checkout URL of an
	// order that has none yet. If it has one already, the order is returned
	// as it is: the first checkout wins.
	SetCheckout(ctx context.Context, id payment.OrderID, providerOrderID, url string) (Order, error)
	Order(ctx context.Context, id payment.OrderID) (Order, error)
	// BeginSettle opens the move of an order from status from to next (paid
	// or refunded): only if its status is from and no other move is open
	// (settling "" or already next); it also records providerOrderID if the
	// order has none. Otherwise it returns an error matching ErrStale.
	BeginSettle(ctx context.Context, id payment.OrderID, from, next payment.Status, providerOrderID string) (Order, error)
	// FinishSettle completes an open move to next: status next, settling "",
	// and txn recorded as the credit (paid) or refund (refunded) transaction.
	// An order already at next is returned as it is; any other state matches
	// ErrStale.
	FinishSettle(ctx context.Context, id payment.OrderID, next payment.Status, txn string) (Order, error)
	// AbortSettle closes an open move to next without changing the status.
	AbortSettle(ctx context.Context, id payment.OrderID, next payment.Status) error
	// MoveOrder changes an order's status from from to to when no move is
	// open (a change with no money: pending → failed), recording
	// providerOrderID if the order has none; else ErrStale.
	MoveOrder(ctx context.Context, id payment.OrderID, from, to payment.Status, providerOrderID string) (Order, error)
	// Orders lists orders, newest first.
	Orders(ctx context.Context, q OrderQuery) ([]Order, error)
	// SettlingOrders returns up to limit orders with a move open and not
	// updated for idle or longer (by the store's clock), oldest first.
	SettlingOrders(ctx context.Context, idle time.Duration, limit int) ([]Order, error)

	// CreateWithdrawal stores w (ID, Status holding and UpdatedAt are set by
	// the store; CreatedAt is the caller's) and returns it with created true,
	// in one database transaction that first checks that the earnings of the
	// user's withdrawals created on w.CreatedAt's UTC day and not rejected,
	// w's included, stay within dailyLimit (else a *DailyLimitError), with
	// concurrent requests of the user serialized. If the user has a
	// withdrawal under w.Key it returns that one with created false.
	CreateWithdrawal(ctx context.Context, w Withdrawal, dailyLimit int64) (Withdrawal, bool, error)
	// HoldPlaced moves a holding withdrawal to requested with its hold's
	// transaction, and writes the audit entry of the request, in one
	// database transaction; a withdrawal already requested (or decided) is
	// returned as it is.
	HoldPlaced(ctx context.Context, id, txn string) (Withdrawal, error)
	// DropWithdrawal deletes a withdrawal still holding (its hold was
	// refused); one in any other state is kept, and ErrDecided returned.
	DropWithdrawal(ctx context.Context, id string) error
	// DecideWithdrawal moves a requested withdrawal to to (approved or
	// rejected), by the admin byID at at, for reason, and writes the audit
	// entry, in one database transaction. Exactly one of concurrent calls
	// wins; the others, and any call on a withdrawal not requested, get an
	// error matching ErrDecided that names its state.
	DecideWithdrawal(ctx context.Context, id string, to WithdrawalStatus, byID, reason string, at time.Time) (Withdrawal, error)
	// SettleWithdrawal records the ledger transaction of a decided
	// withdrawal (the first one recorded stays).
	SettleWithdrawal(ctx context.Context, id, txn string) (Withdrawal, error)
	Withdrawal(ctx context.Context, id string) (Withdrawal, error)
	// Withdrawals lists withdrawals, newest first.
	Withdrawals(ctx context.Context, q WithdrawalQuery) ([]Withdrawal, error)
	// WithdrawnOn sums the earnings of the user's withdrawals created on
	// day's UTC day and not rejected.
	WithdrawnOn(ctx context.Context, userID string, day time.Time) (int64, error)
	// UnsettledWithdrawals returns up to limit withdrawals that are holding,
	// or decided without a recorded transaction, and not updated for idle or
	// longer (by the store's clock), oldest first.
	UnsettledWithdrawals(ctx context.Context, idle time.Duration, limit int) ([]Withdrawal, error)
}

// Ledger is what the service needs of *economy.Ledger.
type Ledger interface {
	Post(ctx context.Context, t economy.Txn) (economy.Receipt, error)
	Balance(ctx context.Context, id economy.AccountID) (int64, error)
}

// Terms reads the economy's current terms (the admin's settings).
type Terms interface {
	Settings(ctx context.Context) (settings.Settings, error)
}

// Config tunes the service; zero values mean the defaults.
type Config struct {
	// Currency is the ISO 4217 code that package prices are in. Default CNY
	// (the terms count coins per yuan).
	Currency string `yaml:"currency"`
	// ReconcileEvery is how often Run looks for steps a crash left open.
	// Default one minute.
	ReconcileEvery time.Duration `yaml:"reconcile_every"`
	// ReconcileGrace is how long a step must have been open before the
	// reconciler takes it over from the request that opened it. Default one
	// minute.
	ReconcileGrace time.Duration `yaml:"reconcile_grace"`
}

// DefaultConfig is what zero values stand for.
func DefaultConfig() Config {
	return Config{Currency: "CNY", ReconcileEvery: time.Minute, ReconcileGrace: time.Minute}
}

// Validate checks the configuration, defaults applied.
func (c Config) Validate() error {
	c = c.withDefaults()
	if len(c.Currency) != 3 || c.Currency[0] < 'A' || c.Currency[0] > 'Z' || c.Currency[1] < 'A' || c.Currency[1] > 'Z' || c.Currency[2] < 'A' || c.Currency[2] > 'Z' {
		return fmt.Errorf("wallet: currency %q: use an ISO 4217 code in upper case, such as CNY", c.Currency)
	}
	if c.ReconcileEvery < 0 || c.ReconcileGrace < 0 {
		return errors.New("wallet: reconcile_every and reconcile_grace must not be negative")
	}
	return nil
}

func (c Config) withDefaults() Config {
	d := DefaultConfig()
	if c.Currency == "" {
		c.Currency = d.Currency
	}
	if c.ReconcileEvery == 0 {
		c.ReconcileEvery = d.ReconcileEvery
	}
	if c.ReconcileGrace == 0 {
		c.ReconcileGrace = d.ReconcileGrace
	}
	return c
}

// Deps are what the service works with.
type Deps struct {
	Store  Store  // required
	Ledger Ledger // required
	Terms  Terms  // required
	// Providers are the payment providers users may pay with (none: recharge
	// is off).
	Providers []payment.Provider
	// Guard stops replays of callbacks; default a MemoryGuard.
	Guard payment.ReplayGuard
	Log   *slog.Logger     // default: discard
	Now   func() time.Time // default: time.Now
}

// Service runs recharges and withdrawals. It is safe for concurrent use.
type Service struct {
	cfg       Config
	store     Store
	ledger    Ledger
	terms     Terms
	providers map[string]payment.Provider
	names     []string // of providers, sorted
	guard     payment.ReplayGuard
	log       *slog.Logger
	now       func() time.Time
}

// New returns a service.
func New(cfg Config, d Deps) (*Service, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if d.Store == nil || d.Ledger == nil || d.Terms == nil {
		return nil, errors.New("wallet: a store, a ledger and terms are required")
	}
	s := &Service{cfg: cfg.withDefaults(), store: d.Store, ledger: d.Ledger, terms: d.Terms,
		providers: map[string]payment.Provider{}, guard: d.Guard, log: d.Log, now: d.Now}
	if s.now == nil {
		s.now = time.Now
	}
	if s.guard == nil {
		s.guard = payment.NewMemoryGuard(s.now)
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	s.log = s.log.With("component", "wallet")
	for _, p := range d.Providers {
		if _, dup := s.providers[p.Name()]; dup || p.Name() == "" {
			return nil, fmt.Errorf("wallet: payment provider %q given twice or without a name", p.Name())
		}
		s.providers[p.Name()] = p
		s.names = append(s.names, p.Name())
	}
	slices.Sort(s.names)
	return s, nil
}

// Providers are the names of the payment providers, sorted.
func (s *Service) Providers() []string { return slices.Clone(s.names) }

// Currency is the ISO 4217 code of package prices.
func (s *Service) Currency() string { return s.cfg.Currency }

func (s *Service) settings(ctx context.Context) (settings.Settings, error) {
	t, err := s.terms.Settings(ctx)
	if err != nil {
		return settings.Settings{}, fmt.Errorf("wallet: terms: %w", err)
	}
	return t, nil
}

// Balance is the user's balance in c (coins or earnings).
func (s *Service) Balance(ctx context.Context, userID string, c economy.Currency) (int64, error) {
	return s.ledger.Balance(ctx, economy.UserAccount(userID, c))
}

// MaxKey is the longest client idempotency key.
const MaxKey = 64

func checkKey(key string) error {
	if key == "" || len(key) > MaxKey {
		return fmt.Errorf("%w: an idempotency_key of 1 to %d characters is required", ErrBadRequest, MaxKey)
	}
	for i := 0; i < len(key); i++ {
		if key[i] < 0x21 || key[i] > 0x7e {
			return fmt.Errorf("%w: the idempotency_key must be printable ASCII without spaces", ErrBadRequest)
		}
	}
	return nil
}

func checkLimit(limit int) error {
	if limit < 1 || limit > MaxPage {
		return fmt.Errorf("%w: a page has 1 to %d items", ErrBadRequest, MaxPage)
	}
	return nil
}

// cut trims a page fetched with one item more than wanted, and returns the
// cursor of the next page ("" when that item was not there).
func cut[T any](items []T, want int, id func(T) string) ([]T, string) {
	if len(items) > want {
		return items[:want], id(items[want-1])
	}
	return items, ""
}
