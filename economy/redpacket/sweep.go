package redpacket

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/onair-live/onair/economy"
)

// sweepPage is the most packets, and claims, one sweep takes on.
const sweepPage = 100

// Start runs the sweeper: a Sweep right away (work a crash left), then every
// SweepInterval, until Close. Calling it again does nothing.
func (s *Service) Start() {
	s.runMu.Lock()
	defer s.runMu.Unlock()
	if s.stop != nil {
		return
	}
	ctx, cancel := context.WithCancel(context.Background())
	s.stop, s.done = cancel, make(chan struct{})
	go s.sweepLoop(ctx, s.done)
}

// Close stops the sweeper and waits for it; a sweep in progress is cut short
// (what it did not finish, the next start finishes). Close before closing
// the ledger. It is safe to call more than once, and without Start.
func (s *Service) Close() error {
	s.runMu.Lock()
	stop, done := s.stop, s.done
	s.runMu.Unlock()
	if stop != nil {
		stop()
		<-done
	}
	return nil
}

func (s *Service) sweepLoop(ctx context.Context, done chan struct{}) {
	defer close(done)
	t := time.NewTicker(s.cfg.SweepInterval)
	defer t.Stop()
	for {
		if err := s.Sweep(ctx); err != nil && ctx.Err() == nil {
			s.log.Warn("sweep", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// Sweep does, once, the work due now: it finishes or cancels stale pending
// creates, ends expired packets, pays the claimed shares of ended ones,
// refunds their unclaimed shares and marks them done, and pays claims left
// unpaid (older than RepayAfter). Each step is safe to repeat and to run on
// several nodes at once. It returns the errors it met, having gone on past
// them.
func (s *Service) Sweep(ctx context.Context) error {
	now := s.now()
	due, err := s.store.Due(ctx, now, now.Add(-s.cfg.StaleAfter), sweepPage)
	if err != nil {
		return err
	}
	var errs []error
	for _, p := range due {
		var err error
		switch p.Status {
		case Pending:
			err = s.reconcile(ctx, p)
		case Open:
			if _, err = s.store.End(ctx, p.ID, now); err == nil {
				err = s.settle(ctx, p.ID)
			}
		case Ended:
			err = s.settle(ctx, p.ID)
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("packet %s: %w", p.ID, err))
		}
	}
	unpaid, err := s.store.Unpaid(ctx, now.Add(-s.cfg.RepayAfter), sweepPage)
	if err != nil {
		errs = append(errs, err)
	}
	for _, g := range unpaid {
		if _, err := s.pay(ctx, g); err != nil {
			errs = append(errs, fmt.Errorf("packet %s share %d: %w", g.Packet, g.Share, err))
		}
	}
	return errors.Join(errs...)
}

// reconcile decides a stale pending create: its last attempt is older than
// any post can still commit, so posting it again tells. Committed (now or
// before) → open; refused → nothing moved and nothing can: canceled.
func (s *Service) reconcile(ctx context.Context, p Packet) error {
	p, err := s.store.Packet(ctx, p.ID) // with its split: the event names it
	if err != nil || p.Status != Pending {
		return err
	}
	rec, err := s.postCreate(ctx, p)
	switch {
	case err == nil:
		s.log.Info("finished a pending red packet", "packet", p.ID, "replayed", rec.Replayed)
		return s.store.Open(ctx, p.ID, rec.TxnID)
	case refused(err):
		ok, cerr := s.store.Cancel(ctx, p.ID, p.AttemptAt)
		if ok {
			s.log.Info("canceled a pending red packet", "packet", p.ID, "reason", err)
		}
		return cerr
	}
	return err
}

// settle pays an ended packet's claimed shares, refunds its unclaimed ones
// to the sender and marks it done.
func (s *Service) settle(ctx context.Context, id string) error {
	p, err := s.store.Packet(ctx, id)
	if err != nil || p.Status != Ended {
		return err
	}
	grabs, err := s.store.Grabs(ctx, id)
	if err != nil {
		return err
	}
	for _, g := range grabs {
		if g.PaidTxn == "" {
			if _, err := s.pay(ctx, g); err != nil {
				return err
			}
		}
	}
	var left int64
	for _, c := range p.Split[p.Claimed:] {
		left += c
	}
	var txn string
	if left > 0 {
		var rec economy.Receipt
		if rec, err = s.ledger.Post(ctx, refundTxn(p, left)); err != nil {
			return err
		}
		txn = rec.TxnID
	}
	return s.store.Finish(ctx, id, left, txn)
}
