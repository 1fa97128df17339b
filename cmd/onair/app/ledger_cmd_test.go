package app

import (
	"bytes"
	"context"
	"database/sql"
	"strings"
	"testing"
	"time"

	"github.com/onair-live/onair/economy"
	"github.com/onair-live/onair/economy/ledgertest"
	"github.com/onair-live/onair/economy/sqlstore"
)

// runLedgerVerify runs `onair ledger verify` with args on the DSN given, as an
// operator would, with no ONAIR_* variables set.
func runLedgerVerify(t *testing.T, dsn string, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errb bytes.Buffer
	args = append([]string{"ledger", "verify", "--data", t.TempDir(), "--db", dsn}, args...)
	code = Main(context.Background(), args, env(nil), &out, &errb)
	return code, out.String(), errb.String()
}

func TestLedgerVerifyCommand(t *testing.T) {
	for _, e := range ledgertest.Engines {
		t.Run(e.Name, func(t *testing.T) {
			dsn := e.DSN(t)
			code, out, errs := runLedgerVerify(t, dsn)
			if code != 0 || out != "" && !strings.HasPrefix(out, "ledger OK: 0 accounts, 0 transactions, 0 entries, 0 events unpublished") {
				t.Fatalf("empty ledger: exit %d, %q %q", code, out, errs)
			}

			db := ledgertest.Open(t, dsn)
			l := ledgertest.NewLedger(t, sqlstore.New(db), economy.Config{})
			for _, txn := range []economy.Txn{ledgertest.Recharge("r", "alice", 0, 100), ledgertest.Gift("g", "alice", "bob", 10, 50)} {
				if _, err := l.Post(t.Context(), txn); err != nil {
					t.Fatal(err)
				}
			}
			code, out, errs = runLedgerVerify(t, dsn)
			if code != 0 || !strings.HasPrefix(out, "ledger OK: 5 accounts, 2 transactions, 7 entries, 1 events unpublished") {
				t.Fatalf("sound ledger: exit %d, %q %q", code, out, errs)
			}

			// The gift's event is not published: past the grace period, that
			// is a problem, named by its transaction.
			time.Sleep(20 * time.Millisecond)
			code, out, _ = runLedgerVerify(t, dsn, "--outbox-grace", "10ms")
			if code != 1 || !strings.Contains(out, "unpublished txn ") || !strings.Contains(out, "room.bob.gift") {
				t.Fatalf("stale event: exit %d, %q", code, out)
			}

			// A balance that is not the sum of its entries names the account.
			if err := db.WriteTx(t.Context(), func(tx *sql.Tx) error {
				_, err := tx.ExecContext(t.Context(), db.Rebind("UPDATE ledger_accounts SET balance = balance + 1 WHERE id = ?"), "user:bob:earnings")
				return err
			}); err != nil {
				t.Fatal(err)
			}
			code, out, errs = runLedgerVerify(t, dsn)
			if code != 1 || strings.TrimSpace(out) != "balance-mismatch account user:bob:earnings: balance 6, entries sum to 5" ||
				!strings.Contains(errs, "ledger NOT OK: 1 problems") {
				t.Fatalf("corrupt balance: exit %d, %q %q", code, out, errs)
			}
		})
	}
}

func TestLedgerCommandUsage(t *testing.T) {
	var out, errb bytes.Buffer
	if code := Main(context.Background(), []string{"ledger"}, env(nil), &out, &errb); code != 2 || !strings.Contains(errb.String(), "onair ledger verify") {
		t.Fatalf("onair ledger: exit %d, %q", code, errb.String())
	}
	code, _, errs := runLedgerVerify(t, ledgertest.SQLiteDSN(t), "--outbox-grace", "0s")
	if code != 2 || !strings.Contains(errs, "--outbox-grace") {
		t.Fatalf("zero grace: exit %d, %q", code, errs)
	}
	code, _, errs = runLedgerVerify(t, "sqlite:///nonexistent-dir/sub/onair.db")
	if code != 1 || errs == "" {
		t.Fatalf("a database that cannot open: exit %d, %q", code, errs)
	}
}
