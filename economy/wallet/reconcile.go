package wallet

import (
	"context"
	"errors"
	"time"

	"github.com/onair-live/onair/economy"
)

// reconcileBatch is how many open steps one round takes of each kind.
const reconcileBatch = 100

// Run reconciles at once and then every ReconcileEvery until ctx ends.
func (s *Service) Run(ctx context.Context) {
	t := time.NewTicker(s.cfg.ReconcileEvery)
	defer t.Stop()
	for {
		if n, err := s.Reconcile(ctx, s.cfg.ReconcileGrace); err != nil && ctx.Err() == nil {
			s.log.Error("reconcile", "err", err)
		} else if n > 0 {
			s.log.Info("reconciled steps a crash or failure left open", "steps", n)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// Reconcile finishes the steps that were left open (see the package doc) and
// untouched for at least grace: an order's credit or refund, a withdrawal's
// hold, approval or rejection. It posts each one's ledger transaction again
// (a replay if it had committed) and finishes its row. It returns how many it
// finished, and the errors of those it could not (they stay open for the next
// round).
func (s *Service) Reconcile(ctx context.Context, grace time.Duration) (int, error) {
	var errs []error
	done := 0
	orders, err := s.store.SettlingOrders(ctx, grace, reconcileBatch)
	if err != nil {
		return 0, err
	}
	for _, o := range orders {
		_, err := s.settle(ctx, o)
		switch {
		case err == nil:
			done++
		case errors.Is(err, ErrCoinsSpent):
			done++ // the move is closed; the refund is left to an admin
			s.log.Warn("refund left to an admin", "order", o.ID, "err", err)
		default:
			errs = append(errs, err)
		}
	}
	ws, err := s.store.UnsettledWithdrawals(ctx, grace, reconcileBatch)
	if err != nil {
		return done, errors.Join(append(errs, err)...)
	}
	for _, w := range ws {
		if w.Status == Holding {
			_, err = s.hold(ctx, w)
			if errors.Is(err, economy.ErrInsufficientFunds) {
				err = nil // the request is dropped, as it would have been
			}
		} else {
			_, err = s.settleWithdrawal(ctx, w)
		}
		if err != nil {
			errs = append(errs, err)
			continue
		}
		done++
	}
	return done, errors.Join(errs...)
}
