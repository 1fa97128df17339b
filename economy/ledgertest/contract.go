package ledgertest

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"math/rand/v2"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/onair-live/onair/economy"
)

// Backend gives a test a store on a fresh, empty ledger, and a way to open
// more stores on that same ledger, as other nodes would.
type Backend func(t *testing.T) (s economy.Store, another func() economy.Store)

// Run is the contract suite: every economy.Store passes it, on every engine.
// It drives the store directly (batches with known members) and through a
// Ledger (group commit, concurrency).
func Run(t *testing.T, b Backend) {
	tests := []struct {
		name string
		fn   func(t *testing.T, b Backend)
	}{
		{"Transfer", testTransfer},
		{"InsufficientFunds", testInsufficientFunds},
		{"IdempotentRetry", testIdempotentRetry},
		{"KeyReused", testKeyReused},
		{"BatchWithFailingMembers", testBatchWithFailingMembers},
		{"ConcurrentNoOverdraw", testConcurrentNoOverdraw},
		{"TwoNodes", testTwoNodes},
		{"History", testHistory},
		{"Outbox", testOutbox},
		{"CloseDrains", testCloseDrains},
		{"CanceledBeforeCommit", testCanceledBeforeCommit},
		{"Property", testProperty},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) { tc.fn(t, b) })
	}
}

// NewLedger starts a ledger on s, closed when the test ends.
func NewLedger(t testing.TB, s economy.Store, cfg economy.Config) *economy.Ledger {
	t.Helper()
	l, err := economy.NewLedger(cfg, economy.Deps{Store: s})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = l.Close() })
	return l
}

// MustVerify fails the test unless every invariant holds, and returns the
// report.
func MustVerify(t testing.TB, l *economy.Ledger) economy.Report {
	t.Helper()
	r, err := l.Verify(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range r.Problems {
		t.Errorf("verify: %s", p)
	}
	if t.Failed() {
		t.FailNow()
	}
	return r
}

func mustPost(t testing.TB, l *economy.Ledger, txn economy.Txn) economy.Receipt {
	t.Helper()
	r, err := l.Post(context.Background(), txn)
	if err != nil {
		t.Fatalf("post %s %s: %v", txn.Kind, txn.Key, err)
	}
	return r
}

func wantBalances(t testing.TB, l *economy.Ledger, want map[economy.AccountID]int64) {
	t.Helper()
	ids := make([]economy.AccountID, 0, len(want))
	for id := range want {
		ids = append(ids, id)
	}
	got, err := l.Balances(context.Background(), ids...)
	if err != nil {
		t.Fatal(err)
	}
	for id, w := range want {
		if got[id] != w {
			t.Errorf("balance of %s = %d, want %d", id, got[id], w)
		}
	}
}

func coins(user string) economy.AccountID { return economy.UserAccount(user, economy.Coins) }

func earnings(user string) economy.AccountID { return economy.UserAccount(user, economy.Earnings) }

func testTransfer(t *testing.T, b Backend) {
	s, _ := b(t)
	l := NewLedger(t, s, economy.Config{})
	ctx := t.Context()
	r := mustPost(t, l, Recharge("r1", "alice", 100, 1000))
	if r.Replayed || r.TxnID == "" || r.Key != "r1" || r.Kind != "recharge" || r.At.IsZero() {
		t.Fatalf("receipt %+v", r)
	}
	if want := map[economy.AccountID]int64{coins("alice"): 1000, issuanceCoins: -1000, cashIn: -100, revenueCents: 100}; !maps.Equal(r.Balances, want) {
		t.Fatalf("receipt balances %v, want %v", r.Balances, want)
	}
	r = mustPost(t, l, Gift("g1", "alice", "bob", 300, 30))
	want := map[economy.AccountID]int64{
		coins("alice"): 700, issuanceCoins: -700, issuanceEarnings: -300, earnings("bob"): 210, revenueEarnings: 90,
	}
	if !maps.Equal(r.Balances, want) {
		t.Fatalf("receipt balances %v, want %v", r.Balances, want)
	}
	wantBalances(t, l, want)
	if bal, err := l.Balance(ctx, coins("nobody")); err != nil || bal != 0 {
		t.Fatalf("balance of an account never used: %d, %v", bal, err)
	}
	a, err := l.Account(ctx, earnings("bob"))
	if err != nil {
		t.Fatal(err)
	}
	if a.Owner != "bob" || a.Kind != economy.KindUser || a.Currency != economy.Earnings || a.AllowNegative || a.Balance != 210 || a.CreatedAt.IsZero() {
		t.Fatalf("account %+v", a)
	}
	if a, err := l.Account(ctx, issuanceCoins); err != nil || !a.AllowNegative || a.Owner != economy.PlatformOwner || a.Kind != economy.Issuance {
		t.Fatalf("issuance account %+v, %v", a, err)
	}
	if _, err := l.Account(ctx, coins("nobody")); !errors.Is(err, economy.ErrNotFound) {
		t.Fatalf("account never used: %v, want ErrNotFound", err)
	}
	if _, err := l.Balance(ctx, "bank:vault"); !errors.Is(err, economy.ErrInvalid) {
		t.Fatalf("balance of a malformed account: %v, want ErrInvalid", err)
	}
	rep := MustVerify(t, l)
	if rep.Accounts != 7 || rep.Txns != 2 || rep.Entries != 9 {
		t.Fatalf("report %+v, want 7 accounts, 2 transactions, 9 entries", rep)
	}
}

func testInsufficientFunds(t *testing.T, b Backend) {
	s, _ := b(t)
	l := NewLedger(t, s, economy.Config{})
	mustPost(t, l, Recharge("r1", "alice", 0, 80))
	_, err := l.Post(t.Context(), Gift("g1", "alice", "bob", 120, 50))
	if !errors.Is(err, economy.ErrInsufficientFunds) {
		t.Fatalf("overdraft: %v, want ErrInsufficientFunds", err)
	}
	var ife *economy.InsufficientFundsError
	if !errors.As(err, &ife) || ife.Account != coins("alice") || ife.Needed != 120 || ife.Balance != 80 {
		t.Fatalf("error %#v", err)
	}
	if got, want := err.Error(), "Not enough coins: 120 needed, you have 80"; got != want {
		t.Fatalf("message %q, want %q", got, want)
	}
	wantBalances(t, l, map[economy.AccountID]int64{coins("alice"): 80, earnings("bob"): 0, issuanceCoins: -80})
	if rep := MustVerify(t, l); rep.Txns != 1 || rep.Unpublished != 0 {
		t.Fatalf("a refused transaction left a trace: %+v", rep)
	}
	// Its key stays free: once there is money, the same request goes through.
	mustPost(t, l, Recharge("r2", "alice", 0, 40))
	if r := mustPost(t, l, Gift("g1", "alice", "bob", 120, 50)); r.Replayed || r.Balances[coins("alice")] != 0 {
		t.Fatalf("retry after recharge: %+v", r)
	}
	// A platform account is named in the message: no user owns it.
	_, err = l.Post(t.Context(), Release("x", "alice", 5))
	if !errors.Is(err, economy.ErrInsufficientFunds) || !strings.Contains(err.Error(), string(escrowCoins)) {
		t.Fatalf("escrow overdraft: %v", err)
	}
}

func testIdempotentRetry(t *testing.T, b Backend) {
	s, _ := b(t)
	l := NewLedger(t, s, economy.Config{})
	mustPost(t, l, Recharge("r1", "alice", 0, 1000))
	first := mustPost(t, l, Gift("g1", "alice", "bob", 100, 50))
	mustPost(t, l, Gift("g2", "alice", "bob", 10, 50)) // moves the balances on
	retry := Gift("g1", "alice", "bob", 100, 50)
	retry.Event.Payload = []byte(`{"ts":"later"}`) // a retry may describe its event afresh
	again := mustPost(t, l, retry)
	if !again.Replayed {
		t.Fatal("a retry was not a replay")
	}
	again.Replayed = false
	if again.TxnID != first.TxnID || !again.At.Equal(first.At) || !maps.Equal(again.Balances, first.Balances) || again.Kind != first.Kind {
		t.Fatalf("replay %+v, original %+v", again, first)
	}
	wantBalances(t, l, map[economy.AccountID]int64{coins("alice"): 890, earnings("bob"): 55})
	if rep := MustVerify(t, l); rep.Txns != 3 || rep.Unpublished != 2 {
		t.Fatalf("report %+v: want 3 transactions and 2 events", rep)
	}
	evs, err := s.Pending(t.Context(), 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(evs) != 2 || evs[0].TxnID != first.TxnID || strings.Contains(string(evs[0].Payload), "later") {
		t.Fatalf("outbox %+v: the original event, once", evs)
	}
}

func testKeyReused(t *testing.T, b Backend) {
	s, _ := b(t)
	l := NewLedger(t, s, economy.Config{})
	mustPost(t, l, Recharge("r1", "alice", 0, 1000))
	mustPost(t, l, Gift("g1", "alice", "bob", 100, 50))
	otherAmount := Gift("g1", "alice", "bob", 101, 50)
	otherStreamer := Gift("g1", "alice", "carol", 100, 50)
	otherKind := Gift("g1", "alice", "bob", 100, 50)
	otherKind.Kind = "tip"
	otherMeta := Gift("g1", "alice", "bob", 100, 50)
	otherMeta.Metadata["gift"] = "rocket"
	for _, txn := range []economy.Txn{otherAmount, otherStreamer, otherKind, otherMeta, Recharge("g1", "alice", 0, 5)} {
		if _, err := l.Post(t.Context(), txn); !errors.Is(err, economy.ErrKeyReused) {
			t.Errorf("%s with a used key and other parameters: %v, want ErrKeyReused", txn.Kind, err)
		}
	}
	wantBalances(t, l, map[economy.AccountID]int64{coins("alice"): 900, earnings("bob"): 50, earnings("carol"): 0})
	MustVerify(t, l)
}

// testBatchWithFailingMembers drives one batch whose members are checked in
// order: refused members leave no trace and do not fail the others.
func testBatchWithFailingMembers(t *testing.T, b Backend) {
	s, _ := b(t)
	ctx := t.Context()
	at := time.Now()
	res, err := s.Apply(ctx, []economy.Txn{Recharge("fund", "a", 0, 100)}, at)
	if err != nil || res[0].Err != nil {
		t.Fatal(err, res)
	}
	zero := transfer("zero", "a", "b", 0)
	batch := []economy.Txn{
		transfer("t1", "a", "b", 60),  // 0: ok, a has 40 left
		transfer("t2", "a", "b", 60),  // 1: refused, only 40
		zero,                          // 2: invalid
		transfer("t3", "a", "c", 40),  // 3: ok, a has 0
		transfer("t1", "a", "b", 61),  // 4: key of member 0, other amount
		transfer("t1", "a", "b", 60),  // 5: replay of member 0
		transfer("fund", "a", "b", 1), // 6: key committed earlier, other txn
		Recharge("fund", "a", 0, 100), // 7: replay of the earlier batch
		transfer("t4", "c", "a", 10),  // 8: ok: c got 40 from member 3
	}
	res, err = s.Apply(ctx, batch, at)
	if err != nil {
		t.Fatal(err)
	}
	if len(res) != len(batch) {
		t.Fatalf("%d results for %d members", len(res), len(batch))
	}
	for i, want := range []error{nil, economy.ErrInsufficientFunds, economy.ErrInvalid, nil, economy.ErrKeyReused, nil, economy.ErrKeyReused, nil, nil} {
		if !errors.Is(res[i].Err, want) || (want == nil) != (res[i].Err == nil) {
			t.Errorf("member %d: %v, want %v", i, res[i].Err, want)
		}
	}
	if res[1].Err != nil && res[1].Err.Error() != "Not enough coins: 60 needed, you have 40" {
		t.Errorf("member 1: %q", res[1].Err)
	}
	if !res[5].Receipt.Replayed || res[5].Receipt.TxnID != res[0].Receipt.TxnID || !maps.Equal(res[5].Receipt.Balances, res[0].Receipt.Balances) {
		t.Errorf("in-batch replay %+v of %+v", res[5].Receipt, res[0].Receipt)
	}
	if !res[7].Receipt.Replayed || res[7].Receipt.Balances[coins("a")] != 100 {
		t.Errorf("replay of an earlier batch %+v", res[7].Receipt)
	}
	if got := res[3].Receipt.Balances[coins("a")]; got != 0 {
		t.Errorf("member 3 left a with %d, want 0", got)
	}
	l := NewLedger(t, s, economy.Config{})
	wantBalances(t, l, map[economy.AccountID]int64{coins("a"): 10, coins("b"): 60, coins("c"): 30})
	if rep := MustVerify(t, l); rep.Txns != 4 {
		t.Fatalf("%d transactions stored, want 4", rep.Txns)
	}
}

// transfer moves coins between users.
func transfer(key, from, to string, n int64) economy.Txn {
	return economy.Txn{Key: key, Kind: "transfer", Postings: []economy.Posting{
		post(coins(from), economy.Coins, -n), post(coins(to), economy.Coins, n),
	}}
}

// testConcurrentNoOverdraw: many goroutines spend from one account at once,
// through group commit; together they never take it below zero, and exactly
// the accepted transfers moved money.
func testConcurrentNoOverdraw(t *testing.T, b Backend) {
	s, _ := b(t)
	l := NewLedger(t, s, economy.Config{})
	const funds, senders, each = 1000, 64, 8
	mustPost(t, l, Recharge("fund", "payer", 0, funds))
	var accepted, refused atomic.Int64
	var wg sync.WaitGroup
	for g := range senders {
		wg.Go(func() {
			for i := range each {
				n := int64(1 + (g*each+i)%40)
				_, err := l.Post(t.Context(), transfer(fmt.Sprintf("c%d-%d", g, i), "payer", fmt.Sprintf("r%d", g%5), n))
				switch {
				case err == nil:
					accepted.Add(n)
				case errors.Is(err, economy.ErrInsufficientFunds):
					refused.Add(1)
				default:
					t.Error(err)
				}
			}
		})
	}
	wg.Wait()
	bal, err := l.Balance(t.Context(), coins("payer"))
	if err != nil {
		t.Fatal(err)
	}
	if bal < 0 || bal != funds-accepted.Load() {
		t.Fatalf("payer has %d after %d accepted of %d", bal, accepted.Load(), funds)
	}
	if refused.Load() == 0 {
		t.Fatal("no transfer was refused: the test spends too little to race for the last coins")
	}
	MustVerify(t, l)
}

// testTwoNodes: two ledgers on two stores of one database (two nodes) post
// the same transfers at once. Each key moves money once; the loser of a race
// on a key gets the winner's receipt; no account is overdrawn.
func testTwoNodes(t *testing.T, b Backend) {
	s1, another := b(t)
	l1 := NewLedger(t, s1, economy.Config{})
	l2 := NewLedger(t, another(), economy.Config{})
	const funds, transfers = 500, 96
	mustPost(t, l1, Recharge("fund", "payer", 0, funds))
	type outcome struct {
		r   economy.Receipt
		err error
	}
	results := make([][2]outcome, transfers)
	var wg sync.WaitGroup
	for i := range transfers {
		// Each receiver is new: both nodes race to create its account too.
		txn := transfer(fmt.Sprintf("k%d", i), "payer", fmt.Sprintf("new%d", i), int64(1+i%13))
		for n, l := range []*economy.Ledger{l1, l2} {
			wg.Go(func() {
				r, err := l.Post(t.Context(), txn)
				results[i][n] = outcome{r, err}
			})
		}
	}
	wg.Wait()
	var moved, committed int64
	for i, pair := range results {
		a, b := pair[0], pair[1]
		switch {
		case a.err != nil || b.err != nil:
			if !errors.Is(a.err, economy.ErrInsufficientFunds) || !errors.Is(b.err, economy.ErrInsufficientFunds) {
				t.Errorf("transfer %d: %v / %v: both refused for want of funds, or neither", i, a.err, b.err)
			}
		case a.r.TxnID != b.r.TxnID || a.r.Replayed == b.r.Replayed:
			t.Errorf("transfer %d: receipts %+v and %+v: one commit and one replay of it", i, a.r, b.r)
		default:
			moved += int64(1 + i%13)
			committed++
		}
	}
	if committed == 0 || committed == transfers {
		t.Fatalf("%d of %d transfers committed: the test should run the payer dry", committed, transfers)
	}
	wantBalances(t, l1, map[economy.AccountID]int64{coins("payer"): funds - moved})
	if rep := MustVerify(t, l1); rep.Txns != 1+committed {
		t.Fatalf("%d transactions stored, want %d", rep.Txns, 1+committed)
	}
}

func testHistory(t *testing.T, b Backend) {
	s, _ := b(t)
	l := NewLedger(t, s, economy.Config{})
	ctx := t.Context()
	mustPost(t, l, Recharge("r", "alice", 0, 100))
	var receipts []economy.Receipt
	for i := range 6 {
		receipts = append(receipts, mustPost(t, l, Gift(fmt.Sprintf("g%d", i), "alice", "bob", int64(i+1), 50)))
	}
	// alice: 1 recharge + 6 gifts = 7 entries; pages of 3, newest first.
	var all []economy.Entry
	cursor := ""
	for page := 0; ; page++ {
		p, err := l.History(ctx, coins("alice"), cursor, 3)
		if err != nil {
			t.Fatal(err)
		}
		all = append(all, p.Entries...)
		if p.Next == "" {
			if page != 2 || len(p.Entries) != 1 {
				t.Fatalf("last page %d has %d entries, want page 2 with 1", page, len(p.Entries))
			}
			break
		}
		if len(p.Entries) != 3 {
			t.Fatalf("page %d has %d entries", page, len(p.Entries))
		}
		cursor = p.Next
	}
	if len(all) != 7 {
		t.Fatalf("%d entries in all pages, want 7", len(all))
	}
	balance := int64(100 - 21)
	for i, e := range all[:6] {
		r := receipts[5-i]
		if e.TxnID != r.TxnID || e.Kind != "gift" || e.Amount != -int64(6-i) || e.BalanceAfter != balance || !e.At.Equal(r.At) ||
			e.Currency != economy.Coins || e.Account != coins("alice") || e.Metadata["to"] != "bob" {
			t.Fatalf("entry %d: %+v (receipt %+v, balance %d)", i, e, r, balance)
		}
		balance -= e.Amount
	}
	if last := all[6]; last.Kind != "recharge" || last.Amount != 100 || last.BalanceAfter != 100 || last.Metadata != nil {
		t.Fatalf("oldest entry %+v", last)
	}
	for _, bad := range []string{"nope", "01ARZ3NDEKTSV4RRFFQ69G5FAV.x", "01ARZ3NDEKTSV4RRFFQ69G5FAV.-1", "a b.1"} {
		if _, err := l.History(ctx, coins("alice"), bad, 3); !errors.Is(err, economy.ErrInvalid) {
			t.Errorf("cursor %q: %v, want ErrInvalid", bad, err)
		}
	}
	for _, n := range []int{0, economy.MaxPage + 1} {
		if _, err := l.History(ctx, coins("alice"), "", n); !errors.Is(err, economy.ErrInvalid) {
			t.Errorf("page size %d: %v, want ErrInvalid", n, err)
		}
	}
	if p, err := l.History(ctx, coins("nobody"), "", 10); err != nil || len(p.Entries) != 0 || p.Next != "" {
		t.Fatalf("history of an unused account: %+v, %v", p, err)
	}
}

func testOutbox(t *testing.T, b Backend) {
	s, _ := b(t)
	ctx := t.Context()
	var now atomic.Pointer[time.Time]
	t0 := time.Now()
	now.Store(&t0)
	l, err := economy.NewLedger(economy.Config{OutboxGrace: time.Minute}, economy.Deps{Store: s, Now: func() time.Time { return *now.Load() }})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	mustPost(t, l, Recharge("r", "alice", 0, 100))
	var ids []string
	for i := range 3 {
		ids = append(ids, mustPost(t, l, Gift(fmt.Sprintf("g%d", i), "alice", fmt.Sprintf("s%d", i%2), 10, 50)).TxnID)
	}
	evs, err := s.Pending(ctx, 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(evs) != 3 {
		t.Fatalf("%d pending events, want 3", len(evs))
	}
	for i, e := range evs {
		want := Gift("", "alice", fmt.Sprintf("s%d", i%2), 10, 50).Event
		if e.TxnID != ids[i] || e.Subject != want.Subject || string(e.Payload) != string(want.Payload) || e.CreatedAt.IsZero() {
			t.Fatalf("event %d: %+v", i, e)
		}
	}
	if evs, err := s.Pending(ctx, 2); err != nil || len(evs) != 2 || evs[1].TxnID != ids[1] {
		t.Fatalf("a page of 2: %+v, %v", evs, err)
	}
	// Within the grace period, unpublished events are no problem; after it,
	// each is reported by its transaction.
	if rep := MustVerify(t, l); rep.Unpublished != 3 {
		t.Fatalf("report %+v", rep)
	}
	later := t0.Add(2 * time.Minute)
	now.Store(&later)
	rep, err := l.Verify(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Problems) != 3 || rep.Problems[0].Kind != economy.Unpublished || rep.Problems[0].Txn != ids[0] {
		t.Fatalf("problems %v, want the 3 unpublished events", rep.Problems)
	}
	if err := s.MarkPublished(ctx, ids[:2], later); err != nil {
		t.Fatal(err)
	}
	if err := s.MarkPublished(ctx, ids[:1], later.Add(time.Hour)); err != nil { // a second relay, late
		t.Fatal(err)
	}
	if evs, err := s.Pending(ctx, 10); err != nil || len(evs) != 1 || evs[0].TxnID != ids[2] {
		t.Fatalf("pending after marking %+v, %v", evs, err)
	}
	if rep, err := l.Verify(ctx); err != nil || len(rep.Problems) != 1 || rep.Problems[0].Txn != ids[2] || rep.Unpublished != 1 {
		t.Fatalf("report %+v, %v", rep, err)
	}
}

// testCloseDrains: Close while posters are busy commits everything queued;
// every Post returns; later ones fail with ErrClosed.
func testCloseDrains(t *testing.T, b Backend) {
	s, _ := b(t)
	l, err := economy.NewLedger(economy.Config{}, economy.Deps{Store: s})
	if err != nil {
		t.Fatal(err)
	}
	var ok, closed atomic.Int64
	var wg sync.WaitGroup
	start := make(chan struct{})
	for g := range 32 {
		wg.Go(func() {
			<-start
			for i := range 20 {
				_, err := l.Post(t.Context(), Recharge(fmt.Sprintf("c%d-%d", g, i), "u", 0, 1))
				switch {
				case err == nil:
					ok.Add(1)
				case errors.Is(err, economy.ErrClosed):
					closed.Add(1)
				default:
					t.Error(err)
				}
			}
		})
	}
	close(start)
	time.Sleep(5 * time.Millisecond) // let some get through before closing
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	wg.Wait()
	if ok.Load()+closed.Load() != 32*20 {
		t.Fatalf("%d committed + %d refused != %d posted", ok.Load(), closed.Load(), 32*20)
	}
	if _, err := l.Post(t.Context(), Recharge("late", "u", 0, 1)); !errors.Is(err, economy.ErrClosed) {
		t.Fatalf("post after Close: %v", err)
	}
	l2 := NewLedger(t, s, economy.Config{})
	if bal, err := l2.Balance(t.Context(), coins("u")); err != nil || bal != ok.Load() {
		t.Fatalf("balance %d, %v: want the %d receipts given", bal, err, ok.Load())
	}
	MustVerify(t, l2)
}

func testCanceledBeforeCommit(t *testing.T, b Backend) {
	s, _ := b(t)
	l := NewLedger(t, s, economy.Config{})
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if _, err := l.Post(ctx, Recharge("r", "u", 0, 5)); !errors.Is(err, context.Canceled) {
		t.Fatalf("post with a canceled context: %v", err)
	}
	if rep := MustVerify(t, l); rep.Txns != 0 {
		t.Fatalf("%d transactions stored", rep.Txns)
	}
	// Not applied, so its key is free.
	if r := mustPost(t, l, Recharge("r", "u", 0, 5)); r.Replayed {
		t.Fatal("the canceled post had committed")
	}
}

// testProperty posts random batches of the economy's transaction shapes and,
// after each, checks every result and balance against the model and that
// Verify holds. LEDGER_SEED=n replays a run.
func testProperty(t *testing.T, b Backend) {
	s, _ := b(t)
	seed := uint64(time.Now().UnixNano())
	if v, err := strconv.ParseUint(os.Getenv("LEDGER_SEED"), 10, 64); err == nil {
		seed = v
	}
	t.Logf("LEDGER_SEED=%d", seed)
	rng := rand.New(rand.NewPCG(seed, 0x0a17))
	l := NewLedger(t, s, economy.Config{})
	m := NewModel()
	users := []string{"u0", "u1", "u2", "u3"}
	streamers := []string{"s0", "s1"}
	var history []economy.Txn
	n := 0
	gen := func() economy.Txn {
		n++
		key := fmt.Sprintf("k%d", n)
		u := users[rng.IntN(len(users))]
		st := streamers[rng.IntN(len(streamers))]
		amt := func(max int) int64 { return int64(1 + rng.IntN(max)) }
		switch r := rng.IntN(100); {
		case r < 15:
			return Recharge(key, u, amt(1000), amt(500))
		case r < 45:
			return Gift(key, u, st, []int64{1, 5, 10, 52, 100, 520}[rng.IntN(6)], int64(rng.IntN(61)))
		case r < 55:
			return Escrow(key, u, amt(120))
		case r < 65:
			return Release(key, u, amt(80))
		case r < 75:
			return Hold(key, st, amt(200))
		case r < 82:
			return Approve(key, amt(150))
		case r < 88:
			return Reject(key, st, amt(150))
		case r < 95 && len(history) > 0: // a client retries
			return history[rng.IntN(len(history))]
		case len(history) > 0: // a key reused for something else
			old := history[rng.IntN(len(history))]
			return Recharge(old.Key, u, 0, amt(9))
		}
		return Recharge(key, u, 0, amt(100))
	}
	for step := range 120 {
		batch := make([]economy.Txn, 1+rng.IntN(8))
		for i := range batch {
			batch[i] = gen()
		}
		res, err := s.Apply(t.Context(), batch, time.Now())
		if err != nil {
			t.Fatalf("step %d: %v", step, err)
		}
		for i, txn := range batch {
			want := m.Apply(txn)
			got := res[i]
			if !errors.Is(got.Err, want.Err) || (got.Err == nil) != (want.Err == nil) || got.Receipt.Replayed != want.Replayed {
				t.Fatalf("step %d member %d (%s %s): got %v replayed=%v, model %v replayed=%v",
					step, i, txn.Kind, txn.Key, got.Err, got.Receipt.Replayed, want.Err, want.Replayed)
			}
			if got.Err == nil && !maps.Equal(got.Receipt.Balances, want.Balances) {
				t.Fatalf("step %d member %d: receipt balances %v, model %v", step, i, got.Receipt.Balances, want.Balances)
			}
			if got.Err == nil && !got.Receipt.Replayed {
				history = append(history, txn)
			}
		}
		accts, err := s.Accounts(t.Context(), m.Accounts())
		if err != nil {
			t.Fatal(err)
		}
		for id, want := range m.Balances() {
			if accts[id].Balance != want {
				t.Fatalf("step %d: %s = %d, model %d", step, id, accts[id].Balance, want)
			}
		}
		MustVerify(t, l)
	}
	if rep := MustVerify(t, l); rep.Txns != int64(len(history)) {
		t.Fatalf("%d transactions stored, %d accepted", rep.Txns, len(history))
	}
}
