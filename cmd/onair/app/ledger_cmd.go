package app

import (
	"context"
	"flag"
	"fmt"
	"io"
	"time"

	"github.com/onair-live/onair/economy"
	"github.com/onair-live/onair/economy/sqlstore"
)

// ledgerVerify is `onair ledger verify`: it checks the ledger's invariants on
// the configured database (the same config layers as serve) and prints one
// line per problem, naming the account or transaction, then exits 1; or
// prints "ledger OK: ..." and exits 0. It only reads, so it may run beside
// live nodes.
func ledgerVerify(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) int {
	const name = "onair ledger verify"
	grace := economy.DefaultConfig().OutboxGrace
	cfg, code, ok := loadCommand(name, args, getenv, stderr, func(fs *flag.FlagSet) {
		fs.DurationVar(&grace, "outbox-grace", grace, "report events committed longer ago than this and still unpublished")
	})
	if !ok {
		return code
	}
	if grace <= 0 {
		fmt.Fprintln(stderr, name+": --outbox-grace must be positive")
		return 2
	}
	db, err := openStore(ctx, cfg)
	if err != nil {
		fmt.Fprintln(stderr, name+":", err)
		return 1
	}
	defer db.Close()
	l, err := economy.NewLedger(economy.Config{OutboxGrace: grace}, economy.Deps{Store: sqlstore.New(db)})
	if err != nil {
		fmt.Fprintln(stderr, name+":", err)
		return 1
	}
	defer l.Close()
	start := time.Now()
	r, err := l.Verify(ctx)
	if err != nil {
		fmt.Fprintln(stderr, name+":", err)
		return 1
	}
	summary := fmt.Sprintf("%d accounts, %d transactions, %d entries, %d events unpublished (checked in %s)",
		r.Accounts, r.Txns, r.Entries, r.Unpublished, time.Since(start).Round(time.Millisecond))
	if !r.OK() {
		for _, p := range r.Problems {
			fmt.Fprintln(stdout, p)
		}
		fmt.Fprintf(stderr, "%s: ledger NOT OK: %d problems; %s\n", name, len(r.Problems), summary)
		return 1
	}
	fmt.Fprintln(stdout, "ledger OK:", summary)
	return 0
}
