package wallet

import (
	"context"
	"errors"
	"fmt"

	"github.com/onair-live/onair/economy"
	"github.com/onair-live/onair/economy/payment"
	"github.com/onair-live/onair/economy/settings"
)

// Offer is a recharge package at the current terms.
type Offer struct {
	settings.Package
	Coins int64 // bonus included
}

// Catalog is what a user can buy.
type Catalog struct {
	Offers       []Offer
	CoinsPerYuan int64
	Currency     string
	Providers    []string
}

// Packages lists the recharge packages at the current terms.
func (s *Service) Packages(ctx context.Context) (Catalog, error) {
	t, err := s.settings(ctx)
	if err != nil {
		return Catalog{}, err
	}
	c := Catalog{CoinsPerYuan: t.CoinsPerYuan, Currency: s.cfg.Currency, Providers: s.Providers()}
	for _, p := range t.Packages {
		c.Offers = append(c.Offers, Offer{Package: p, Coins: t.Coins(p)})
	}
	return c, nil
}

// RechargeRequest is a user's purchase of a package.
type RechargeRequest struct {
	UserID   string
	Package  string
	Provider string
	Key      string // the client's idempotency key
}

// Recharge creates a pending order for the package, at the coins the current
// terms give, and opens the provider's checkout: the order's CheckoutURL is
// where the user pays. A retry with the same Key returns the same order (and
// its checkout); the same Key for another package or provider is
// ErrKeyReused.
func (s *Service) Recharge(ctx context.Context, r RechargeRequest) (Order, error) {
	if err := checkKey(r.Key); err != nil {
		return Order{}, err
	}
	p, ok := s.providers[r.Provider]
	if !ok {
		return Order{}, fmt.Errorf("%w: %q; this server takes %v", ErrUnknownProvider, r.Provider, s.names)
	}
	t, err := s.settings(ctx)
	if err != nil {
		return Order{}, err
	}
	pkg, ok := t.Package(r.Package)
	if !ok {
		return Order{}, fmt.Errorf("%w: %q", ErrUnknownPackage, r.Package)
	}
	o, created, err := s.store.CreateOrder(ctx, Order{UserID: r.UserID, Key: r.Key, Package: pkg.ID,
		PriceCents: pkg.PriceCents, Currency: s.cfg.Currency, Coins: t.Coins(pkg), Provider: p.Name()})
	if err != nil {
		return Order{}, err
	}
	if !created && (o.Package != r.Package || o.Provider != r.Provider) {
		return Order{}, fmt.Errorf("%w: it made order %s for package %s with %s", ErrKeyReused, o.ID, o.Package, o.Provider)
	}
	if o.CheckoutURL != "" || o.Status != payment.StatusPending {
		return o, nil
	}
	co, err := p.Checkout(ctx, o.payment())
	if err != nil {
		return Order{}, fmt.Errorf("wallet: checkout of order %s with %s: %w", o.ID, p.Name(), err)
	}
	return s.store.SetCheckout(ctx, o.ID, co.ProviderOrderID, co.URL)
}

// Order returns an order of the user's.
func (s *Service) Order(ctx context.Context, userID string, id payment.OrderID) (Order, error) {
	o, err := s.store.Order(ctx, id)
	if err != nil {
		return Order{}, err
	}
	if o.UserID != userID {
		return Order{}, fmt.Errorf("%w: order %s", ErrNotFound, id)
	}
	return o, nil
}

// Orders lists orders, newest first, and the cursor of the next page ("" at
// the end).
func (s *Service) Orders(ctx context.Context, q OrderQuery) ([]Order, string, error) {
	if err := checkLimit(q.Limit); err != nil {
		return nil, "", err
	}
	switch q.Status {
	case "", payment.StatusPending, payment.StatusPaid, payment.StatusFailed, payment.StatusRefunded:
	default:
		return nil, "", fmt.Errorf("%w: status %q; use pending, paid, failed or refunded", ErrBadRequest, q.Status)
	}
	want := q.Limit
	q.Limit++
	os, err := s.store.Orders(ctx, q)
	if err != nil {
		return nil, "", err
	}
	os, next := cut(os, want, func(o Order) string { return string(o.ID) })
	return os, next, nil
}

// Callback takes a provider's callback request (its raw headers and body): it
// is verified and checked against its order by payment.Handle, and its effect
// applied exactly once. It returns the order as it is after the callback. Any
// error means nothing was credited by this call; the provider should retry on
// a 5xx, not on a 4xx.
func (s *Service) Callback(ctx context.Context, provider string, h payment.Headers, body []byte) (Order, error) {
	p, ok := s.providers[provider]
	if !ok {
		return Order{}, fmt.Errorf("%w: %q", ErrUnknownProvider, provider)
	}
	d, err := payment.Handle(ctx, p, s.guard, orderFinder{s.store}, h, body)
	if err != nil {
		return Order{}, err
	}
	o, err := s.apply(ctx, d)
	if err != nil {
		// The provider's retry must be taken, not refused as a replay.
		if ferr := s.guard.Forget(context.WithoutCancel(ctx), d.Callback.Provider, d.Callback.EventID); ferr != nil {
			s.log.Error("replay guard forget", "err", ferr)
		}
		return Order{}, err
	}
	s.log.Info("payment callback", "order", o.ID, "provider", provider, "status", d.Callback.Status, "effect", d.Effect)
	return o, nil
}

// apply carries out a decision on the store and the ledger.
func (s *Service) apply(ctx context.Context, d payment.Decision) (Order, error) {
	id, from, next := d.Order.ID, d.Order.Status, d.Next.Status
	var o Order
	var err error
	switch {
	case from == next:
		return s.store.Order(ctx, id) // a repeat: providers retry until answered
	case d.Effect == payment.EffectNone:
		o, err = s.store.MoveOrder(ctx, id, from, next, d.Next.ProviderOrderID)
	default:
		if o, err = s.store.BeginSettle(ctx, id, from, next, d.Next.ProviderOrderID); err == nil {
			return s.settle(ctx, o)
		}
	}
	if errors.Is(err, ErrStale) {
		// A concurrent callback may have made the same move: then this one
		// is answered as done.
		if now, rerr := s.store.Order(ctx, id); rerr == nil && now.Status == next && now.Settling == "" {
			return now, nil
		}
	}
	return o, err
}

// settle posts the open move of o and finishes it; a reversal the ledger
// refuses closes the move and leaves the order as it was.
func (s *Service) settle(ctx context.Context, o Order) (Order, error) {
	next := o.Settling
	balance, err := s.Balance(ctx, o.UserID, economy.Coins)
	if err != nil {
		return Order{}, err
	}
	r, err := s.ledger.Post(ctx, settleTxn(o, next, balance, s.now().UnixMilli()))
	if next == payment.StatusRefunded && errors.Is(err, economy.ErrInsufficientFunds) {
		if aerr := s.store.AbortSettle(context.WithoutCancel(ctx), o.ID, next); aerr != nil {
			return Order{}, errors.Join(err, aerr)
		}
		return Order{}, fmt.Errorf("%w: order %s credited %d coins, an admin must settle the refund: %w", ErrCoinsSpent, o.ID, o.Coins, err)
	}
	if err != nil {
		return Order{}, fmt.Errorf("wallet: order %s: %w", o.ID, err)
	}
	return s.store.FinishSettle(ctx, o.ID, next, r.TxnID)
}

// orderFinder is payment.Orders on the store.
type orderFinder struct{ store Store }

func (f orderFinder) Find(ctx context.Context, id payment.OrderID) (payment.Order, error) {
	o, err := f.store.Order(ctx, id)
	if errors.Is(err, ErrNotFound) {
		return payment.Order{}, fmt.Errorf("%w: %s", payment.ErrUnknownOrder, id)
	}
	if err != nil {
		return payment.Order{}, err
	}
	return o.payment(), nil
}
