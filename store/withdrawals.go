package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/onair-live/onair/economy/wallet"
)

const withdrawalCols = `id, user_id, idempotency_key, earnings, cents_per_earning, cents, status, hold_txn, settle_txn,
	decided_by, decided_at, reason, created_at, updated_at`

func scanWithdrawal(s scanner) (wallet.Withdrawal, error) {
	var w wallet.Withdrawal
	var decided, created, updated int64
	err := s.Scan(&w.ID, &w.UserID, &w.Key, &w.Earnings, &w.CentsPerEarning, &w.Cents, &w.Status, &w.HoldTxn, &w.SettleTxn,
		&w.DecidedBy, &decided, &w.Reason, &created, &updated)
	if err != nil {
		return wallet.Withdrawal{}, err
	}
	if decided != 0 {
		w.DecidedAt = fromMS(decided)
	}
	w.CreatedAt, w.UpdatedAt = fromMS(created), fromMS(updated)
	return w, nil
}

func (db *DB) withdrawal(ctx context.Context, q querier, id string) (wallet.Withdrawal, error) {
	w, err := scanWithdrawal(db.queryRow(ctx, q, "SELECT "+withdrawalCols+" FROM withdrawals WHERE id = ?", id))
	if errors.Is(err, sql.ErrNoRows) {
		return wallet.Withdrawal{}, walletNotFound{"withdrawal " + id}
	}
	if err != nil {
		return wallet.Withdrawal{}, fmt.Errorf("store: withdrawal %q: %w", id, err)
	}
	return w, nil
}

// Withdrawal implements wallet.Store.
func (db *DB) Withdrawal(ctx context.Context, id string) (wallet.Withdrawal, error) {
	return db.withdrawal(ctx, db.r, id)
}

// dayBounds are the first millisecond of t's UTC day and of the next.
func dayBounds(t time.Time) (int64, int64) {
	y, m, d := t.UTC().Date()
	start := time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
	return ms(start), ms(start.AddDate(0, 0, 1))
}

const sumOfDay = `SELECT COALESCE(SUM(earnings), 0) FROM withdrawals
	WHERE user_id = ? AND created_at >= ? AND created_at < ? AND status <> 'rejected'`

// CreateWithdrawal implements wallet.Store. The user's row is locked first
// (PostgreSQL; SQLite's writer transaction excludes every other writer), so
// that two requests of one user cannot both pass the daily limit.
func (db *DB) CreateWithdrawal(ctx context.Context, w wallet.Withdrawal, dailyLimit int64) (wallet.Withdrawal, bool, error) {
	if w.UserID == "" || w.Key == "" || w.Earnings <= 0 || w.CentsPerEarning <= 0 || w.Cents != w.Earnings*w.CentsPerEarning || w.CreatedAt.IsZero() {
		return wallet.Withdrawal{}, false, fmt.Errorf("store: create withdrawal: %w: user, key, positive earnings and ratio, cents = earnings × ratio and a time are required", ErrInvalid)
	}
	lock := ""
	if db.d.name == "postgres" {
		lock = " FOR UPDATE"
	}
	var out wallet.Withdrawal
	created := false
	err := db.inTx(ctx, func(tx *sql.Tx) error {
		var uid string
		if err := db.queryRow(ctx, tx, "SELECT id FROM users WHERE id = ?"+lock, w.UserID).Scan(&uid); err != nil {
			return fmt.Errorf("user %q: %w", w.UserID, notFound(err))
		}
		old, err := scanWithdrawal(db.queryRow(ctx, tx, "SELECT "+withdrawalCols+" FROM withdrawals WHERE user_id = ? AND idempotency_key = ?", w.UserID, w.Key))
		if err == nil {
			out = old
			return nil
		}
		if !errors.Is(err, sql.ErrNoRows) {
			return err
		}
		start, end := dayBounds(w.CreatedAt)
		var sum int64
		if err := db.queryRow(ctx, tx, sumOfDay, w.UserID, start, end).Scan(&sum); err != nil {
			return err
		}
		if sum+w.Earnings > dailyLimit {
			return &wallet.DailyLimitError{Limit: dailyLimit, Requested: sum, Asked: w.Earnings}
		}
		// The id has the store's time, so that ids sort in the order of
		// insertion; created_at is the caller's, which the day is of.
		now := db.nowMS()
		id, err := newID(now)
		if err != nil {
			return err
		}
		if _, err := db.exec(ctx, tx, `INSERT INTO withdrawals (id, user_id, idempotency_key, earnings, cents_per_earning, cents, status, created_at, updated_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`, id, w.UserID, w.Key, w.Earnings, w.CentsPerEarning, w.Cents, wallet.Holding, ms(w.CreatedAt), ms(now)); err != nil {
			return db.d.mapErr(err, ErrConflict)
		}
		created = true
		out, err = db.withdrawal(ctx, tx, id)
		return err
	})
	if err != nil {
		var limit *wallet.DailyLimitError
		if errors.As(err, &limit) {
			return wallet.Withdrawal{}, false, err
		}
		return wallet.Withdrawal{}, false, fmt.Errorf("store: create withdrawal: %w", err)
	}
	return out, created, nil
}

// moveWithdrawal applies c to withdrawal id in one transaction and, if a row
// matched and audit is set, writes audit (target: the withdrawal) in it. It
// returns the withdrawal after it and whether c matched.
func (db *DB) moveWithdrawal(ctx context.Context, id string, c change, audit *AuditEntry) (wallet.Withdrawal, bool, error) {
	var w wallet.Withdrawal
	var matched bool
	err := db.inTx(ctx, func(tx *sql.Tx) error {
		var err error
		if matched, err = db.update(ctx, tx, "withdrawals", id, c); err != nil {
			return err
		}
		if matched && audit != nil {
			at := db.nowMS()
			aid, err := newID(at)
			if err != nil {
				return err
			}
			if _, err := db.exec(ctx, tx, `INSERT INTO audit_log (id, at, actor_id, action, room_id, target_id, reason) VALUES (?, ?, ?, ?, '', ?, ?)`,
				aid, ms(at), audit.ActorID, audit.Action, id, audit.Reason); err != nil {
				return err
			}
		}
		w, err = db.withdrawal(ctx, tx, id)
		return err
	})
	var nf walletNotFound
	if errors.As(err, &nf) {
		return wallet.Withdrawal{}, false, err
	}
	if err != nil {
		return wallet.Withdrawal{}, false, fmt.Errorf("store: withdrawal %q: %w", id, err)
	}
	return w, matched, nil
}

// HoldPlaced implements wallet.Store; the audit entry is the user's
// withdrawal_request.
func (db *DB) HoldPlaced(ctx context.Context, id, txn string) (wallet.Withdrawal, error) {
	// The audit entry's actor and amounts come from the row.
	w, err := db.withdrawal(ctx, db.r, id)
	if err != nil {
		return wallet.Withdrawal{}, err
	}
	w, _, err = db.moveWithdrawal(ctx, id, change{set: "status = ?, hold_txn = ?", setArgs: []any{wallet.Requested, txn},
		where: "status = ?", args: []any{wallet.Holding}},
		&AuditEntry{ActorID: w.UserID, Action: "withdrawal_request", Reason: fmt.Sprintf("%d earnings for %d cents", w.Earnings, w.Cents)})
	return w, err
}

// DropWithdrawal implements wallet.Store.
func (db *DB) DropWithdrawal(ctx context.Context, id string) error {
	res, err := db.exec(ctx, db.w, "DELETE FROM withdrawals WHERE id = ? AND status = ?", id, wallet.Holding)
	if err != nil {
		return fmt.Errorf("store: drop withdrawal %q: %w", id, err)
	}
	if n, err := res.RowsAffected(); err != nil || n == 1 {
		return err
	}
	w, err := db.withdrawal(ctx, db.r, id)
	if errors.Is(err, ErrNotFound) {
		return nil // dropped already
	}
	if err != nil {
		return err
	}
	return fmt.Errorf("%w: withdrawal %s is %s, not holding; it stays", wallet.ErrDecided, id, w.Status)
}

// DecideWithdrawal implements wallet.Store; the audit entry's action is
// withdrawal_approve or withdrawal_reject.
func (db *DB) DecideWithdrawal(ctx context.Context, id string, to wallet.WithdrawalStatus, byID, reason string, at time.Time) (wallet.Withdrawal, error) {
	action := map[wallet.WithdrawalStatus]string{wallet.Approved: "withdrawal_approve", wallet.Rejected: "withdrawal_reject"}[to]
	if action == "" || byID == "" {
		return wallet.Withdrawal{}, fmt.Errorf("store: decide withdrawal %q: %w: to approved or rejected, by an admin", id, ErrInvalid)
	}
	w, moved, err := db.moveWithdrawal(ctx, id, change{set: "status = ?, decided_by = ?, decided_at = ?, reason = ?",
		setArgs: []any{to, byID, ms(at), reason}, where: "status = ?", args: []any{wallet.Requested}},
		&AuditEntry{ActorID: byID, Action: action, Reason: reason})
	if err != nil {
		return wallet.Withdrawal{}, err
	}
	if !moved {
		if w.Status == wallet.Holding {
			return w, fmt.Errorf("%w: withdrawal %s is not on hold yet; try again in a moment", wallet.ErrDecided, id)
		}
		return w, fmt.Errorf("%w: withdrawal %s was %s at %s", wallet.ErrDecided, id, w.Status, w.DecidedAt.Format(time.RFC3339))
	}
	return w, nil
}

// SettleWithdrawal implements wallet.Store.
func (db *DB) SettleWithdrawal(ctx context.Context, id, txn string) (wallet.Withdrawal, error) {
	w, _, err := db.moveWithdrawal(ctx, id, change{set: "settle_txn = ?", setArgs: []any{txn},
		where: "settle_txn = '' AND status IN (?, ?)", args: []any{wallet.Approved, wallet.Rejected}}, nil)
	return w, err
}

// Withdrawals implements wallet.Store.
func (db *DB) Withdrawals(ctx context.Context, q wallet.WithdrawalQuery) ([]wallet.Withdrawal, error) {
	where, args := listWhere(q.UserID, string(q.Status), q.Before)
	rows, err := db.query(ctx, db.r, "SELECT "+withdrawalCols+" FROM withdrawals"+where+" ORDER BY id DESC LIMIT ?", append(args, clampLimit(q.Limit))...)
	if err != nil {
		return nil, fmt.Errorf("store: withdrawals: %w", err)
	}
	return scanRows(rows, scanWithdrawal, "withdrawals")
}

// WithdrawnOn implements wallet.Store.
func (db *DB) WithdrawnOn(ctx context.Context, userID string, day time.Time) (int64, error) {
	start, end := dayBounds(day)
	var sum int64
	if err := db.queryRow(ctx, db.r, sumOfDay, userID, start, end).Scan(&sum); err != nil {
		return 0, fmt.Errorf("store: withdrawn by %q: %w", userID, err)
	}
	return sum, nil
}

// UnsettledWithdrawals implements wallet.Store.
func (db *DB) UnsettledWithdrawals(ctx context.Context, idle time.Duration, limit int) ([]wallet.Withdrawal, error) {
	rows, err := db.query(ctx, db.r, "SELECT "+withdrawalCols+` FROM withdrawals
		WHERE (status = ? OR (status IN (?, ?) AND settle_txn = '')) AND updated_at <= ? ORDER BY updated_at, id LIMIT ?`,
		wallet.Holding, wallet.Approved, wallet.Rejected, ms(db.nowMS().Add(-idle)), clampLimit(limit))
	if err != nil {
		return nil, fmt.Errorf("store: unsettled withdrawals: %w", err)
	}
	return scanRows(rows, scanWithdrawal, "unsettled withdrawals")
}
