package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/onair-live/onair/economy/payment"
	"github.com/onair-live/onair/economy/wallet"
)

// The store keeps economy/wallet's recharge orders (this file) and
// withdrawals (withdrawals.go): the tables of migration 0011.
var _ wallet.Store = (*DB)(nil)

// walletNotFound is an unknown order or withdrawal: it matches both ErrNotFound and
// wallet.ErrNotFound.
type walletNotFound struct{ what string }

func (e walletNotFound) Error() string { return e.what + " not found" }

func (e walletNotFound) Is(target error) bool {
	return target == ErrNotFound || target == wallet.ErrNotFound
}

const orderCols = `id, user_id, idempotency_key, package_id, price_cents, currency, coins, provider, provider_order_id,
	checkout_url, status, settling, credit_txn, refund_txn, created_at, updated_at`

func scanOrder(s scanner) (wallet.Order, error) {
	var o wallet.Order
	var created, updated int64
	err := s.Scan(&o.ID, &o.UserID, &o.Key, &o.Package, &o.PriceCents, &o.Currency, &o.Coins, &o.Provider, &o.ProviderOrderID,
		&o.CheckoutURL, &o.Status, &o.Settling, &o.CreditTxn, &o.RefundTxn, &created, &updated)
	if err != nil {
		return wallet.Order{}, err
	}
	o.CreatedAt, o.UpdatedAt = fromMS(created), fromMS(updated)
	return o, nil
}

// CreateOrder implements wallet.Store.
func (db *DB) CreateOrder(ctx context.Context, o wallet.Order) (wallet.Order, bool, error) {
	if o.UserID == "" || o.Key == "" || o.Package == "" || o.Provider == "" || o.PriceCents <= 0 || o.Coins <= 0 || len(o.Currency) != 3 {
		return wallet.Order{}, false, fmt.Errorf("store: create order: %w: user, key, package, provider, currency and positive price and coins are required", ErrInvalid)
	}
	at := db.nowMS()
	id, err := newID(at)
	if err != nil {
		return wallet.Order{}, false, fmt.Errorf("store: create order: %w", err)
	}
	res, err := db.exec(ctx, db.w, `INSERT INTO recharge_orders (id, user_id, idempotency_key, package_id, price_cents, currency, coins,
		provider, status, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (user_id, idempotency_key) DO NOTHING`,
		id, o.UserID, o.Key, o.Package, o.PriceCents, o.Currency, o.Coins, o.Provider, payment.StatusPending, ms(at), ms(at))
	if err != nil {
		return wallet.Order{}, false, fmt.Errorf("store: create order for %q: %w", o.UserID, db.d.mapErr(err, ErrConflict))
	}
	n, err := res.RowsAffected()
	if err != nil {
		return wallet.Order{}, false, fmt.Errorf("store: create order: %w", err)
	}
	got, err := scanOrder(db.queryRow(ctx, db.w, "SELECT "+orderCols+" FROM recharge_orders WHERE user_id = ? AND idempotency_key = ?", o.UserID, o.Key))
	if err != nil {
		return wallet.Order{}, false, fmt.Errorf("store: create order: %w", err)
	}
	return got, n == 1, nil
}

// Order implements wallet.Store.
func (db *DB) Order(ctx context.Context, id payment.OrderID) (wallet.Order, error) {
	return db.order(ctx, db.r, id)
}

func (db *DB) order(ctx context.Context, q querier, id payment.OrderID) (wallet.Order, error) {
	o, err := scanOrder(db.queryRow(ctx, q, "SELECT "+orderCols+" FROM recharge_orders WHERE id = ?", id))
	if errors.Is(err, sql.ErrNoRows) {
		return wallet.Order{}, walletNotFound{"order " + string(id)}
	}
	if err != nil {
		return wallet.Order{}, fmt.Errorf("store: order %q: %w", id, err)
	}
	return o, nil
}

// change is one conditional UPDATE: SQL fragments for SET and WHERE, each
// with its parameters.
type change struct {
	set     string
	setArgs []any
	where   string
	args    []any
}

// update applies c to row id of table inside tx and reports whether a row
// matched.
func (db *DB) update(ctx context.Context, tx *sql.Tx, table, id string, c change) (bool, error) {
	args := slices.Concat(c.setArgs, []any{ms(db.nowMS()), id}, c.args)
	res, err := db.exec(ctx, tx, "UPDATE "+table+" SET "+c.set+", updated_at = ? WHERE id = ? AND "+c.where, args...)
	if err != nil {
		return false, db.d.mapErr(err, ErrConflict)
	}
	n, err := res.RowsAffected()
	return n == 1, err
}

// updateOrder applies c to order id and returns the order after it. If no
// row matched, it returns the order as it is and wallet.ErrStale (what says
// what could not be done), or the not-found error.
func (db *DB) updateOrder(ctx context.Context, id payment.OrderID, what string, c change) (wallet.Order, error) {
	var o wallet.Order
	err := db.inTx(ctx, func(tx *sql.Tx) error {
		matched, err := db.update(ctx, tx, "recharge_orders", string(id), c)
		if err != nil {
			return err
		}
		if o, err = db.order(ctx, tx, id); err != nil {
			return err
		}
		if !matched {
			return fmt.Errorf("%w: order %s is %s (settling %q); it cannot %s", wallet.ErrStale, id, o.Status, o.Settling, what)
		}
		return nil
	})
	if err != nil {
		var nf walletNotFound
		if errors.As(err, &nf) || errors.Is(err, wallet.ErrStale) {
			return o, err
		}
		return wallet.Order{}, fmt.Errorf("store: order %q: %s: %w", id, what, err)
	}
	return o, nil
}

// SetCheckout implements wallet.Store.
func (db *DB) SetCheckout(ctx context.Context, id payment.OrderID, providerOrderID, url string) (wallet.Order, error) {
	if providerOrderID == "" || url == "" {
		return wallet.Order{}, fmt.Errorf("store: checkout of order %q: %w: a provider order id and a URL are required", id, ErrInvalid)
	}
	o, err := db.updateOrder(ctx, id, "open a checkout", change{
		set: "provider_order_id = ?, checkout_url = ?", setArgs: []any{providerOrderID, url}, where: "provider_order_id = ''"})
	if errors.Is(err, wallet.ErrStale) {
		return o, nil // the first checkout wins
	}
	return o, err
}

// keepProviderOrder records a callback's provider order id on an order that
// has none (its checkout never returned), and keeps the one it has.
const keepProviderOrder = "provider_order_id = CASE WHEN provider_order_id = '' THEN ? ELSE provider_order_id END"

// BeginSettle implements wallet.Store.
func (db *DB) BeginSettle(ctx context.Context, id payment.OrderID, from, next payment.Status, providerOrderID string) (wallet.Order, error) {
	if next != payment.StatusPaid && next != payment.StatusRefunded {
		return wallet.Order{}, fmt.Errorf("store: settle order %q: %w: %q is not a settled status", id, ErrInvalid, next)
	}
	return db.updateOrder(ctx, id, "become "+string(next), change{
		set: "settling = ?, " + keepProviderOrder, setArgs: []any{next, providerOrderID},
		where: "status = ? AND settling IN ('', ?)", args: []any{from, next}})
}

// FinishSettle implements wallet.Store.
func (db *DB) FinishSettle(ctx context.Context, id payment.OrderID, next payment.Status, txn string) (wallet.Order, error) {
	col := "credit_txn"
	if next == payment.StatusRefunded {
		col = "refund_txn"
	}
	o, err := db.updateOrder(ctx, id, "finish becoming "+string(next), change{
		set: "status = ?, settling = '', " + col + " = ?", setArgs: []any{next, txn}, where: "settling = ?", args: []any{next}})
	if errors.Is(err, wallet.ErrStale) && o.Status == next && o.Settling == "" {
		return o, nil // finished by a concurrent callback or the reconciler
	}
	return o, err
}

// AbortSettle implements wallet.Store.
func (db *DB) AbortSettle(ctx context.Context, id payment.OrderID, next payment.Status) error {
	_, err := db.updateOrder(ctx, id, "abort becoming "+string(next), change{set: "settling = ''", where: "settling = ?", args: []any{next}})
	if errors.Is(err, wallet.ErrStale) {
		return nil // nothing open: nothing to abort
	}
	return err
}

// MoveOrder implements wallet.Store.
func (db *DB) MoveOrder(ctx context.Context, id payment.OrderID, from, to payment.Status, providerOrderID string) (wallet.Order, error) {
	return db.updateOrder(ctx, id, "become "+string(to), change{
		set: "status = ?, " + keepProviderOrder, setArgs: []any{to, providerOrderID},
		where: "status = ? AND settling = ''", args: []any{from}})
}

// Orders implements wallet.Store.
func (db *DB) Orders(ctx context.Context, q wallet.OrderQuery) ([]wallet.Order, error) {
	where, args := listWhere(q.UserID, string(q.Status), q.Before)
	rows, err := db.query(ctx, db.r, "SELECT "+orderCols+" FROM recharge_orders"+where+" ORDER BY id DESC LIMIT ?", append(args, clampLimit(q.Limit))...)
	if err != nil {
		return nil, fmt.Errorf("store: orders: %w", err)
	}
	return scanRows(rows, scanOrder, "orders")
}

// SettlingOrders implements wallet.Store.
func (db *DB) SettlingOrders(ctx context.Context, idle time.Duration, limit int) ([]wallet.Order, error) {
	rows, err := db.query(ctx, db.r, "SELECT "+orderCols+" FROM recharge_orders WHERE settling <> '' AND updated_at <= ? ORDER BY updated_at, id LIMIT ?",
		ms(db.nowMS().Add(-idle)), clampLimit(limit))
	if err != nil {
		return nil, fmt.Errorf("store: settling orders: %w", err)
	}
	return scanRows(rows, scanOrder, "settling orders")
}

// listWhere is the WHERE clause of a list of orders or withdrawals: of one
// user, in one status, older than a cursor id (each when not empty).
func listWhere(userID, status, before string) (string, []any) {
	var conds []string
	var args []any
	for _, c := range []struct{ col, v, op string }{{"user_id", userID, "="}, {"status", status, "="}, {"id", before, "<"}} {
		if c.v != "" {
			conds = append(conds, c.col+" "+c.op+" ?")
			args = append(args, c.v)
		}
	}
	if len(conds) == 0 {
		return "", nil
	}
	return " WHERE " + strings.Join(conds, " AND "), args
}

// scanRows reads every row with scan and closes rows.
func scanRows[T any](rows *sql.Rows, scan func(scanner) (T, error), what string) ([]T, error) {
	defer rows.Close()
	var out []T
	for rows.Next() {
		v, err := scan(rows)
		if err != nil {
			return nil, fmt.Errorf("store: %s: %w", what, err)
		}
		out = append(out, v)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: %s: %w", what, err)
	}
	return out, nil
}
