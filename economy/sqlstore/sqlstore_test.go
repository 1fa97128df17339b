package sqlstore_test

import (
	"database/sql"
	"strings"
	"testing"
	"time"

	"github.com/onair-live/onair/economy"
	"github.com/onair-live/onair/economy/ledgertest"
	"github.com/onair-live/onair/economy/sqlstore"
)

// The contract suite on both engines.
func TestContract(t *testing.T) {
	for _, e := range ledgertest.Engines {
		t.Run(e.Name, func(t *testing.T) {
			ledgertest.Run(t, func(t *testing.T) (economy.Store, func() economy.Store) {
				dsn := e.DSN(t)
				return sqlstore.New(ledgertest.Open(t, dsn)), func() economy.Store { return sqlstore.New(ledgertest.Open(t, dsn)) }
			})
		})
	}
}

// mustApply applies txns as one batch, every one of which must commit.
func mustApply(t *testing.T, s economy.Store, txns ...economy.Txn) []economy.Result {
	t.Helper()
	res, err := s.Apply(t.Context(), txns, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	for i, r := range res {
		if r.Err != nil {
			t.Fatalf("member %d: %v", i, r.Err)
		}
	}
	return res
}

// The database itself refuses a negative balance on an account that may not
// go negative, whatever writes it; a source account may.
func TestCheckConstraint(t *testing.T) {
	for _, e := range ledgertest.Engines {
		t.Run(e.Name, func(t *testing.T) {
			db := e.Open(t)
			s := sqlstore.New(db)
			ctx := t.Context()
			user := economy.UserAccount("alice", economy.Coins)
			mustApply(t, s, ledgertest.Recharge("r", "alice", 0, 10))
			set := func(id economy.AccountID, bal int64) error {
				return db.WriteTx(ctx, func(tx *sql.Tx) error {
					_, err := tx.ExecContext(ctx, db.Rebind("UPDATE ledger_accounts SET balance = ? WHERE id = ?"), bal, id)
					return err
				})
			}
			isCheck := func(err error) bool {
				return err != nil && strings.Contains(strings.ToLower(err.Error()), "check constraint")
			}
			if err := set(user, -1); !isCheck(err) {
				t.Fatalf("a user account set to -1: %v, want a CHECK violation", err)
			}
			if err := set(economy.PlatformAccount(economy.Issuance, economy.Coins), -11); err != nil {
				t.Fatalf("issuance may go negative: %v", err)
			}
			err := db.WriteTx(ctx, func(tx *sql.Tx) error {
				_, err := tx.ExecContext(ctx, db.Rebind("INSERT INTO ledger_accounts (id, owner, kind, currency, balance, allow_negative, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)"),
					"platform:escrow:coins", "platform", "escrow", "coins", -5, false, 0)
				return err
			})
			if !isCheck(err) {
				t.Fatalf("an escrow account created at -5: %v, want a CHECK violation", err)
			}
			accts, err := s.Accounts(ctx, []economy.AccountID{user})
			if err != nil || accts[user].Balance != 10 {
				t.Fatalf("alice: %+v, %v", accts[user], err)
			}
		})
	}
}

// A batch whose COMMIT fails leaves nothing behind: no transaction, entry,
// event, account or balance change of any member; the store works on after it.
func TestCommitFailureLeavesNothing(t *testing.T) {
	for _, e := range ledgertest.Engines {
		t.Run(e.Name, func(t *testing.T) {
			db := e.Open(t)
			s := sqlstore.New(db)
			ctx := t.Context()
			mustApply(t, s, ledgertest.Recharge("r", "alice", 0, 100))
			ledgertest.DoomAtCommit(t, e.Name, db)
			batch := []economy.Txn{
				ledgertest.Gift("g1", "alice", "bob", 10, 50),
				ledgertest.Gift("doomed", "alice", "carol", 10, 50),
				ledgertest.Gift("g2", "alice", "bob", 10, 50),
			}
			if _, err := s.Apply(ctx, batch, time.Now()); err == nil || !strings.Contains(err.Error(), "commit") {
				t.Fatalf("apply: %v, want the commit's error", err)
			}
			l := ledgertest.NewLedger(t, s, economy.Config{})
			rep := ledgertest.MustVerify(t, l)
			if rep.Txns != 1 || rep.Accounts != 2 || rep.Entries != 2 || rep.Unpublished != 0 {
				t.Fatalf("after a failed commit: %+v", rep)
			}
			if bal, err := l.Balance(ctx, economy.UserAccount("alice", economy.Coins)); err != nil || bal != 100 {
				t.Fatalf("alice has %d, %v", bal, err)
			}
			if r := mustApply(t, s, batch[0]); r[0].Receipt.Replayed {
				t.Fatalf("the same member alone, after: %+v", r)
			}
		})
	}
}
