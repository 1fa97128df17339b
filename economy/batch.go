package economy

import (
	"cmp"
	"context"
	"fmt"
	"maps"
	"slices"
	"time"

	"github.com/oklog/ulid/v2"
)

// BatchTx is one open database transaction as [ApplyBatch] drives it, in this
// order: LockAccounts, Committed, BalancesAfter (only when a member replays),
// Write. A Store implements each with set-based statements, so that a batch
// costs a handful of round trips whatever its size.
type BatchTx interface {
	// Committed returns the transactions stored under any of keys (distinct),
	// by key, without their receipts' Balances.
	Committed(ctx context.Context, keys []string) (map[string]Prior, error)
	// BalancesAfter returns, by transaction id, the balances that committed
	// transactions left on their accounts: for each id in replays, on the
	// accounts listed (those it touched). This is a replay's receipt.
	BalancesAfter(ctx context.Context, replays map[string][]AccountID) (map[string]map[AccountID]int64, error)
	// LockAccounts returns the accounts of accounts by id, creating at zero
	// those that do not exist, and keeps every one from changing under any
	// other writer until the transaction ends.
	LockAccounts(ctx context.Context, accounts []AccountInfo) (map[AccountID]AccountState, error)
	// Write stores the plan: transactions with their entries and outbox
	// events, then the balance changes.
	Write(ctx context.Context, plan *Plan) error
}

// Prior is a transaction committed under an idempotency key.
type Prior struct {
	Receipt     Receipt
	Fingerprint [32]byte
}

// AccountState is a locked account as a batch sees it.
type AccountState struct {
	Currency      Currency
	Balance       int64
	AllowNegative bool
}

// Plan is what a batch writes.
type Plan struct {
	At   time.Time
	Txns []PlannedTxn // accepted members, in order
	// Changes are the net balance changes, one per account, sorted by account.
	Changes []BalanceChange
}

// PlannedTxn is an accepted member of a batch.
type PlannedTxn struct {
	ID          string
	Key         string
	Kind        string
	Fingerprint [32]byte
	Metadata    string // JSON
	Entries     []Entry
	Event       *Event
}

// BalanceChange is an account's net change over a batch.
type BalanceChange struct {
	Account AccountID
	Delta   int64
}

// ApplyBatch checks and applies batch, in order, inside the open transaction
// tx: it validates every member, locks the accounts they name, finds the keys
// already committed (replays and reuses), checks each other member against
// the balances the earlier ones left, and writes the accepted ones. It returns
// one Result per member; an error means the transaction must be rolled back.
func ApplyBatch(ctx context.Context, tx BatchTx, batch []Txn, at time.Time) ([]Result, error) {
	at = at.Truncate(time.Millisecond).UTC()
	results := make([]Result, len(batch))
	fps := make([][32]byte, len(batch))
	valid := make([]bool, len(batch))
	keys := make([]string, 0, len(batch))
	inBatch := make(map[string]bool, len(batch))
	for i := range batch {
		if err := batch[i].Validate(); err != nil {
			results[i].Err = err
			continue
		}
		valid[i] = true
		fps[i] = batch[i].Fingerprint()
		if !inBatch[batch[i].Key] {
			inBatch[batch[i].Key] = true
			keys = append(keys, batch[i].Key)
		}
	}
	if len(keys) == 0 {
		return results, nil
	}
	// Lock first, then look the keys up. A transaction committing the same
	// key concurrently (another node) touches the same accounts, so once the
	// locks are ours it has committed and the lookup sees it: a retry racing
	// its original gets the original's receipt, not a refusal judged on the
	// balances the original left. (A reuse of the key on other accounts may
	// still slip past the lookup; the unique constraint then fails the batch,
	// and the store runs it again.)
	var infos []AccountInfo
	seen := map[AccountID]bool{}
	for i := range batch {
		if !valid[i] {
			continue
		}
		for _, p := range batch[i].Postings {
			if !seen[p.Account] {
				seen[p.Account] = true
				info, _ := ParseAccount(p.Account) // Validate passed
				infos = append(infos, info)
			}
		}
	}
	slices.SortFunc(infos, func(a, b AccountInfo) int { return cmp.Compare(a.ID, b.ID) })
	accounts, err := tx.LockAccounts(ctx, infos)
	if err != nil {
		return nil, fmt.Errorf("lock accounts: %w", err)
	}
	prior, err := tx.Committed(ctx, keys)
	if err != nil {
		return nil, fmt.Errorf("idempotency keys: %w", err)
	}
	if err := replayBalances(ctx, tx, batch, valid, fps, prior); err != nil {
		return nil, fmt.Errorf("replayed receipts: %w", err)
	}
	if prior == nil {
		prior = map[string]Prior{}
	}
	plan := Plan{At: at}
	changes := map[AccountID]int64{}
	for i := range batch {
		if !valid[i] {
			continue
		}
		t := &batch[i]
		if p, ok := prior[t.Key]; ok {
			if p.Fingerprint != fps[i] {
				results[i].Err = fmt.Errorf("%w: key %q was used for a %s with other parameters", ErrKeyReused, t.Key, p.Receipt.Kind)
				continue
			}
			r := p.Receipt
			r.Balances = maps.Clone(r.Balances) // each caller owns its receipt's map
			r.Replayed = true
			results[i].Receipt = r
			continue
		}
		pt, balances, err := apply(t, accounts, changes)
		if err != nil {
			results[i].Err = err
			continue
		}
		if pt.ID, err = newID(at); err != nil {
			return nil, err
		}
		for j := range pt.Entries {
			pt.Entries[j].TxnID, pt.Entries[j].At = pt.ID, at
		}
		pt.Fingerprint = fps[i]
		plan.Txns = append(plan.Txns, pt)
		rec := Receipt{TxnID: pt.ID, Key: t.Key, Kind: t.Kind, At: at, Balances: balances}
		results[i].Receipt = rec
		// A later member with the same key is a replay of this one.
		prior[t.Key] = Prior{Receipt: rec, Fingerprint: fps[i]}
	}
	if len(plan.Txns) == 0 {
		return results, nil
	}
	for id, d := range changes {
		if d != 0 {
			plan.Changes = append(plan.Changes, BalanceChange{Account: id, Delta: d})
		}
	}
	slices.SortFunc(plan.Changes, func(a, b BalanceChange) int { return cmp.Compare(a.Account, b.Account) })
	if err := tx.Write(ctx, &plan); err != nil {
		return nil, fmt.Errorf("write: %w", err)
	}
	return results, nil
}

// replayBalances fills in the Balances of the receipts that members of the
// batch replay: the same fingerprint means the same postings, so the retry
// names the accounts to look up.
func replayBalances(ctx context.Context, tx BatchTx, batch []Txn, valid []bool, fps [][32]byte, prior map[string]Prior) error {
	replays := map[string][]AccountID{}
	for i := range batch {
		p, ok := prior[batch[i].Key]
		if !valid[i] || !ok || p.Fingerprint != fps[i] {
			continue
		}
		if _, ok := replays[p.Receipt.TxnID]; ok {
			continue
		}
		var accounts []AccountID
		for _, po := range batch[i].Postings {
			if !slices.Contains(accounts, po.Account) {
				accounts = append(accounts, po.Account)
			}
		}
		replays[p.Receipt.TxnID] = accounts
	}
	if len(replays) == 0 {
		return nil
	}
	after, err := tx.BalancesAfter(ctx, replays)
	if err != nil {
		return err
	}
	for k, p := range prior {
		if b, ok := after[p.Receipt.TxnID]; ok {
			p.Receipt.Balances = b
			prior[k] = p
		}
	}
	return nil
}

// apply checks t against the balances in accounts and, if it passes, moves
// them and adds its net changes to changes. It returns the planned
// transaction (without ids) and the balances it leaves.
func apply(t *Txn, accounts map[AccountID]AccountState, changes map[AccountID]int64) (PlannedTxn, map[AccountID]int64, error) {
	// The net change per account, in order of first appearance; a transaction
	// has at most MaxPostings, so a slice beats a map.
	type net struct {
		id       AccountID
		cur      Currency
		start    int64
		delta    int64
		allowNeg bool
	}
	nets := make([]net, 0, len(t.Postings))
	entries := make([]Entry, len(t.Postings))
	for seq, p := range t.Postings {
		j := slices.IndexFunc(nets, func(n net) bool { return n.id == p.Account })
		if j < 0 {
			st, ok := accounts[p.Account]
			if !ok {
				return PlannedTxn{}, nil, invalidf("account %s was not loaded (a store bug)", p.Account)
			}
			if st.Currency != p.Currency {
				return PlannedTxn{}, nil, invalidf("account %s is in %s, the posting in %s", p.Account, st.Currency, p.Currency)
			}
			nets = append(nets, net{id: p.Account, cur: p.Currency, start: st.Balance, allowNeg: st.AllowNegative})
			j = len(nets) - 1
		}
		d, ok := addInt64(nets[j].delta, p.Amount)
		if !ok {
			return PlannedTxn{}, nil, invalidf("balance of %s out of range", p.Account)
		}
		nets[j].delta = d
		after, ok := addInt64(nets[j].start, d)
		if !ok {
			return PlannedTxn{}, nil, invalidf("balance of %s out of range", p.Account)
		}
		entries[seq] = Entry{Seq: seq, Kind: t.Kind, Account: p.Account, Currency: p.Currency, Amount: p.Amount, BalanceAfter: after}
	}
	for _, n := range nets {
		if after := n.start + n.delta; after < 0 && !n.allowNeg { // no overflow: checked above
			return PlannedTxn{}, nil, &InsufficientFundsError{Account: n.id, Currency: n.cur, Needed: -n.delta, Balance: n.start}
		}
	}
	balances := make(map[AccountID]int64, len(nets))
	for _, n := range nets {
		st := accounts[n.id]
		st.Balance = n.start + n.delta
		accounts[n.id] = st
		changes[n.id] += n.delta
		balances[n.id] = st.Balance
	}
	return PlannedTxn{Key: t.Key, Kind: t.Kind, Metadata: t.metadataJSON(), Entries: entries, Event: t.Event}, balances, nil
}

// addInt64 is a+b and whether it did not overflow.
func addInt64(a, b int64) (int64, bool) {
	s := a + b
	return s, (s > a) == (b > 0)
}

// newID is a ULID with at's millisecond; the entropy is monotonic within a
// millisecond (ulid.DefaultEntropy is safe for concurrent use), so the ids of
// one process sort in the order they were made.
func newID(at time.Time) (string, error) {
	id, err := ulid.New(ulid.Timestamp(at), ulid.DefaultEntropy())
	if err != nil {
		return "", fmt.Errorf("economy: new id: %w", err)
	}
	return id.String(), nil
}
