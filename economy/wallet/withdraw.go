package wallet

import (
	"context"
	"errors"
	"fmt"
	"unicode/utf8"

	"github.com/onair-live/onair/economy"
)

// WithdrawTerms are the withdrawal terms as they apply to a user today.
type WithdrawTerms struct {
	Min             int64 // earnings units
	DailyLimit      int64 // earnings units per UTC day
	CentsPerEarning int64
	RequestedToday  int64 // earnings requested today (UTC), not rejected
	Balance         int64 // the user's earnings
}

// WithdrawTerms returns the terms and the user's standing against them.
func (s *Service) WithdrawTerms(ctx context.Context, userID string) (WithdrawTerms, error) {
	t, err := s.settings(ctx)
	if err != nil {
		return WithdrawTerms{}, err
	}
	today, err := s.store.WithdrawnOn(ctx, userID, s.now())
	if err != nil {
		return WithdrawTerms{}, err
	}
	bal, err := s.Balance(ctx, userID, economy.Earnings)
	if err != nil {
		return WithdrawTerms{}, err
	}
	return WithdrawTerms{Min: t.WithdrawMin, DailyLimit: t.WithdrawDailyLimit, CentsPerEarning: t.WithdrawCentsPerEarning,
		RequestedToday: today, Balance: bal}, nil
}

// WithdrawRequest is a streamer's request to withdraw earnings.
type WithdrawRequest struct {
	UserID   string
	Earnings int64
	Key      string // the client's idempotency key
}

// Withdraw requests a withdrawal: at least the minimum, within what is left
// of the day's limit (UTC), at the current ratio, fixed now. The earnings go
// on hold at once. A retry with the same Key returns the same withdrawal; the
// same Key for another amount is ErrKeyReused. Refusals: ErrBelowMinimum, a
// *DailyLimitError, economy.ErrInsufficientFunds (more than the balance).
func (s *Service) Withdraw(ctx context.Context, r WithdrawRequest) (Withdrawal, error) {
	if err := checkKey(r.Key); err != nil {
		return Withdrawal{}, err
	}
	t, err := s.settings(ctx)
	if err != nil {
		return Withdrawal{}, err
	}
	if r.Earnings < t.WithdrawMin {
		return Withdrawal{}, fmt.Errorf("%w: withdraw at least %d earnings; you asked for %d", ErrBelowMinimum, t.WithdrawMin, r.Earnings)
	}
	if r.Earnings > t.WithdrawDailyLimit { // (and so no product below can overflow)
		today, err := s.store.WithdrawnOn(ctx, r.UserID, s.now())
		if err != nil {
			return Withdrawal{}, err
		}
		return Withdrawal{}, &DailyLimitError{Limit: t.WithdrawDailyLimit, Requested: today, Asked: r.Earnings}
	}
	w, created, err := s.store.CreateWithdrawal(ctx, Withdrawal{UserID: r.UserID, Key: r.Key, Earnings: r.Earnings,
		CentsPerEarning: t.WithdrawCentsPerEarning, Cents: t.WithdrawCents(r.Earnings), CreatedAt: s.now()}, t.WithdrawDailyLimit)
	if err != nil {
		return Withdrawal{}, err
	}
	if !created && w.Earnings != r.Earnings {
		return Withdrawal{}, fmt.Errorf("%w: it requested withdrawal %s of %d earnings", ErrKeyReused, w.ID, w.Earnings)
	}
	if w.Status != Holding {
		return w, nil
	}
	return s.hold(ctx, w)
}

// hold posts the hold of a holding withdrawal and makes it requested; a hold
// the ledger refuses deletes the withdrawal.
func (s *Service) hold(ctx context.Context, w Withdrawal) (Withdrawal, error) {
	r, err := s.ledger.Post(ctx, withdrawalTxn(w, "request", s.now().UnixMilli()))
	if errors.Is(err, economy.ErrInsufficientFunds) || errors.Is(err, economy.ErrInvalid) {
		if derr := s.store.DropWithdrawal(context.WithoutCancel(ctx), w.ID); derr != nil {
			return Withdrawal{}, errors.Join(err, derr)
		}
		return Withdrawal{}, fmt.Errorf("wallet: withdrawal of %d earnings: %w", w.Earnings, err)
	}
	if err != nil {
		return Withdrawal{}, fmt.Errorf("wallet: withdrawal %s: %w", w.ID, err)
	}
	return s.store.HoldPlaced(ctx, w.ID, r.TxnID)
}

// MaxReason is the longest reason an admin gives, in characters.
const MaxReason = 500

// Approve pays a requested withdrawal out; Reject returns its earnings to the
// user. Of concurrent decisions on one withdrawal exactly one is taken, the
// others get ErrDecided. byID is the admin; reason is recorded in the audit
// log (required to reject: the streamer reads it).
func (s *Service) Approve(ctx context.Context, id, byID, reason string) (Withdrawal, error) {
	return s.decide(ctx, id, Approved, byID, reason)
}

// Reject: see Approve.
func (s *Service) Reject(ctx context.Context, id, byID, reason string) (Withdrawal, error) {
	if reason == "" {
		return Withdrawal{}, fmt.Errorf("%w: say why the withdrawal is rejected; the streamer reads it", ErrBadRequest)
	}
	return s.decide(ctx, id, Rejected, byID, reason)
}

func (s *Service) decide(ctx context.Context, id string, to WithdrawalStatus, byID, reason string) (Withdrawal, error) {
	if utf8.RuneCountInString(reason) > MaxReason || !utf8.ValidString(reason) {
		return Withdrawal{}, fmt.Errorf("%w: a reason is at most %d characters", ErrBadRequest, MaxReason)
	}
	w, err := s.store.DecideWithdrawal(ctx, id, to, byID, reason, s.now())
	if err != nil {
		return Withdrawal{}, err
	}
	return s.settleWithdrawal(ctx, w)
}

// settleWithdrawal posts a decided withdrawal's transaction and records it.
func (s *Service) settleWithdrawal(ctx context.Context, w Withdrawal) (Withdrawal, error) {
	r, err := s.ledger.Post(ctx, withdrawalTxn(w, step(w), s.now().UnixMilli()))
	if err != nil {
		// The decision stands; the reconciler posts it again.
		return Withdrawal{}, fmt.Errorf("wallet: withdrawal %s %s, its ledger transaction is pending: %w", w.ID, w.Status, err)
	}
	return s.store.SettleWithdrawal(ctx, w.ID, r.TxnID)
}

// Withdrawals lists withdrawals, newest first, and the cursor of the next
// page ("" at the end).
func (s *Service) Withdrawals(ctx context.Context, q WithdrawalQuery) ([]Withdrawal, string, error) {
	if err := checkLimit(q.Limit); err != nil {
		return nil, "", err
	}
	switch q.Status {
	case "", Holding, Requested, Approved, Rejected:
	default:
		return nil, "", fmt.Errorf("%w: status %q; use requested, approved or rejected", ErrBadRequest, q.Status)
	}
	want := q.Limit
	q.Limit++
	ws, err := s.store.Withdrawals(ctx, q)
	if err != nil {
		return nil, "", err
	}
	ws, next := cut(ws, want, func(w Withdrawal) string { return w.ID })
	return ws, next, nil
}
