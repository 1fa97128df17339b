package economy_test

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/onair-live/onair/economy"
	"github.com/onair-live/onair/economy/ledgertest"
	"github.com/onair-live/onair/economy/sqlstore"
)

// gated is a store whose first Apply waits until the test opens the gate,
// so that the test knows what queues up behind it; it records the size of
// every batch.
type gated struct {
	economy.Store
	entered, open chan struct{}
	opened        sync.Once
	mu            sync.Mutex
	sizes         []int
}

func newGated(s economy.Store) *gated {
	return &gated{Store: s, entered: make(chan struct{}), open: make(chan struct{})}
}

// release opens the gate. Tests defer it too, so that a failed test does not
// leave the committer waiting when the cleanup closes the ledger.
func (g *gated) release() { g.opened.Do(func() { close(g.open) }) }

func (g *gated) Apply(ctx context.Context, batch []economy.Txn, at time.Time) ([]economy.Result, error) {
	g.mu.Lock()
	g.sizes = append(g.sizes, len(batch))
	first := len(g.sizes) == 1
	g.mu.Unlock()
	if first {
		close(g.entered)
		<-g.open
	}
	return g.Store.Apply(ctx, batch, at)
}

func (g *gated) batchSizes() []int {
	g.mu.Lock()
	defer g.mu.Unlock()
	return slices.Clone(g.sizes)
}

// eventually polls cond until it holds, failing the test after 10 s.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("after 10 s: %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// checkNoLedgerGoroutines fails the test if a ledger's goroutines outlive it.
func checkNoLedgerGoroutines(t *testing.T) {
	t.Helper()
	eventually(t, "the ledger's goroutines stopped", func() bool {
		buf := make([]byte, 1<<20)
		stacks := string(buf[:runtime.Stack(buf, true)])
		return !strings.Contains(stacks, "economy.(*Ledger).commitLoop") && !strings.Contains(stacks, "economy.(*relay).run")
	})
}

// postAll posts txns concurrently and returns their outcomes in order.
func postAll(l *economy.Ledger, txns []economy.Txn) ([]economy.Receipt, []error) {
	rs := make([]economy.Receipt, len(txns))
	errs := make([]error, len(txns))
	var wg sync.WaitGroup
	for i, txn := range txns {
		wg.Go(func() { rs[i], errs[i] = l.Post(context.Background(), txn) })
	}
	wg.Wait()
	return rs, errs
}

// Posts that arrive while a batch commits go together in the next one, up to
// MaxBatch each.
func TestGroupCommit(t *testing.T) {
	g := newGated(sqlstore.New(ledgertest.Engines[0].Open(t)))
	defer g.release()
	l, err := economy.NewLedger(economy.Config{MaxBatch: 16}, economy.Deps{Store: g})
	if err != nil {
		t.Fatal(err)
	}
	first := make(chan error, 1)
	go func() { _, err := l.Post(t.Context(), ledgertest.Recharge("fund", "alice", 0, 1000)); first <- err }()
	<-g.entered
	var txns []economy.Txn
	for i := range 50 {
		txns = append(txns, ledgertest.Gift(fmt.Sprintf("g%d", i), "alice", "bob", 10, 50))
	}
	var rs []economy.Receipt
	var errs []error
	done := make(chan struct{})
	go func() { rs, errs = postAll(l, txns); close(done) }()
	eventually(t, "50 posts queued", func() bool { return economy.QueueLen(l) == 50 })
	g.release()
	<-done
	if err := <-first; err != nil {
		t.Fatal(err)
	}
	for i, err := range errs {
		if err != nil {
			t.Fatalf("post %d: %v", i, err)
		}
	}
	if sizes := g.batchSizes(); !slices.Equal(sizes, []int{1, 16, 16, 16, 2}) {
		t.Fatalf("batches of %v, want [1 16 16 16 2]", sizes)
	}
	if st := l.Stats(); st.Batches != 5 || st.Txns != 51 {
		t.Fatalf("stats %+v", st)
	}
	// The receipts of one batch share a commit; alice's balance went down by
	// 10 per gift, whatever the batch.
	seen := map[int64]bool{}
	for _, r := range rs {
		seen[r.Balances[economy.UserAccount("alice", economy.Coins)]] = true
	}
	if len(seen) != 50 {
		t.Fatalf("%d distinct balances after 50 gifts", len(seen))
	}
	ledgertest.MustVerify(t, l)
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	checkNoLedgerGoroutines(t)
}

// MaxBatch 1 is one transaction per commit.
func TestNoGroupCommit(t *testing.T) {
	g := newGated(sqlstore.New(ledgertest.Engines[0].Open(t)))
	defer g.release()
	l := ledgertest.NewLedger(t, g, economy.Config{MaxBatch: 1})
	go func() { _, _ = l.Post(t.Context(), ledgertest.Recharge("fund", "alice", 0, 1000)) }()
	<-g.entered
	var txns []economy.Txn
	for i := range 5 {
		txns = append(txns, ledgertest.Gift(fmt.Sprintf("g%d", i), "alice", "bob", 10, 50))
	}
	done := make(chan []error)
	go func() { _, errs := postAll(l, txns); done <- errs }()
	eventually(t, "5 posts queued", func() bool { return economy.QueueLen(l) == 5 })
	g.release()
	if err := errors.Join(<-done...); err != nil {
		t.Fatal(err)
	}
	if sizes := g.batchSizes(); !slices.Equal(sizes, []int{1, 1, 1, 1, 1, 1}) {
		t.Fatalf("batches of %v", sizes)
	}
}

// When a batch's COMMIT fails, every member gets the error and nothing of
// any of them is written; the ledger goes on.
func TestCommitFailureFailsEveryMember(t *testing.T) {
	for _, e := range ledgertest.Engines {
		t.Run(e.Name, func(t *testing.T) {
			db := e.Open(t)
			g := newGated(sqlstore.New(db))
			defer g.release()
			l := ledgertest.NewLedger(t, g, economy.Config{})
			ledgertest.DoomAtCommit(t, e.Name, db)
			first := make(chan error, 1)
			go func() { _, err := l.Post(t.Context(), ledgertest.Recharge("fund", "alice", 0, 100)); first <- err }()
			<-g.entered
			batch := []economy.Txn{
				ledgertest.Gift("g1", "alice", "bob", 10, 50),
				ledgertest.Gift("doomed", "alice", "carol", 10, 50),
				ledgertest.Recharge("r2", "dave", 0, 7),
			}
			done := make(chan []error)
			go func() { _, errs := postAll(l, batch); done <- errs }()
			eventually(t, "3 posts queued", func() bool { return economy.QueueLen(l) == 3 })
			g.release()
			errs := <-done
			if err := <-first; err != nil {
				t.Fatal(err)
			}
			if sizes := g.batchSizes(); !slices.Equal(sizes, []int{1, 3}) {
				t.Fatalf("batches of %v, want [1 3]", sizes)
			}
			for i, err := range errs {
				if err == nil || !strings.Contains(err.Error(), "commit") {
					t.Errorf("member %d: %v, want the commit's error", i, err)
				}
			}
			rep := ledgertest.MustVerify(t, l)
			if rep.Txns != 1 || rep.Unpublished != 0 {
				t.Fatalf("after the failed batch: %+v", rep)
			}
			bal, err := l.Balances(t.Context(), economy.UserAccount("alice", economy.Coins), economy.UserAccount("dave", economy.Coins))
			if err != nil || bal[economy.UserAccount("alice", economy.Coins)] != 100 || bal[economy.UserAccount("dave", economy.Coins)] != 0 {
				t.Fatalf("balances %v, %v", bal, err)
			}
			// Retried, the innocent members go through, as first commits.
			for _, txn := range []economy.Txn{batch[0], batch[2]} {
				if r, err := l.Post(t.Context(), txn); err != nil || r.Replayed {
					t.Fatalf("retry of %s: %+v, %v", txn.Key, r, err)
				}
			}
		})
	}
}

// A store error on Apply reaches every member, wrapped.
func TestApplyErrorReachesEveryMember(t *testing.T) {
	boom := errors.New("disk on fire")
	g := newGated(failing{boom})
	defer g.release()
	l := ledgertest.NewLedger(t, g, economy.Config{})
	first := make(chan error, 1)
	go func() { _, err := l.Post(t.Context(), ledgertest.Recharge("a", "u", 0, 1)); first <- err }()
	<-g.entered
	done := make(chan []error)
	go func() {
		_, errs := postAll(l, []economy.Txn{ledgertest.Recharge("b", "u", 0, 1), ledgertest.Recharge("c", "u", 0, 1)})
		done <- errs
	}()
	eventually(t, "2 posts queued", func() bool { return economy.QueueLen(l) == 2 })
	g.release()
	for _, err := range append(<-done, <-first) {
		if !errors.Is(err, boom) {
			t.Errorf("%v, want the store's error", err)
		}
	}
}

type failing struct{ err error }

func (f failing) Apply(context.Context, []economy.Txn, time.Time) ([]economy.Result, error) {
	return nil, f.err
}
func (f failing) Accounts(context.Context, []economy.AccountID) (map[economy.AccountID]economy.Account, error) {
	return nil, f.err
}
func (f failing) Entries(context.Context, economy.AccountID, economy.EntryRef, int) ([]economy.Entry, error) {
	return nil, f.err
}
func (f failing) Pending(context.Context, int) ([]economy.OutboxEvent, error) { return nil, f.err }
func (f failing) MarkPublished(context.Context, []string, time.Time) error    { return f.err }
func (f failing) Verify(context.Context, time.Time) (economy.Report, error) {
	return economy.Report{}, f.err
}

// An invalid transaction is refused before it is queued.
func TestPostValidates(t *testing.T) {
	l := ledgertest.NewLedger(t, failing{errors.New("the store must not be reached")}, economy.Config{})
	_, err := l.Post(t.Context(), economy.Txn{Key: "k", Kind: "gift", Postings: pay(aliceCoins, issCoins, 0)})
	if !errors.Is(err, economy.ErrInvalid) {
		t.Fatalf("%v, want ErrInvalid", err)
	}
	if _, err := economy.NewLedger(economy.Config{}, economy.Deps{}); err == nil {
		t.Fatal("a ledger without a store")
	}
}
