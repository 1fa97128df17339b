package ledgertest

import (
	"fmt"
	"maps"
	"slices"

	"github.com/onair-live/onair/economy"
)

// Model is the books as simply as they can be kept: a map of balances and a
// map of the keys used, one transaction after the other. The property test
// holds the ledger to it.
type Model struct {
	bal  map[economy.AccountID]int64
	keys map[string]modelTxn
}

type modelTxn struct {
	fp       [32]byte
	balances map[economy.AccountID]int64
}

// NewModel is an empty ledger.
func NewModel() *Model {
	return &Model{bal: map[economy.AccountID]int64{}, keys: map[string]modelTxn{}}
}

// Outcome is what the model expects of one transaction.
type Outcome struct {
	Err      error // nil, or the sentinel it wraps
	Replayed bool
	Balances map[economy.AccountID]int64
}

// Apply applies t if the ledger should, and says what the ledger should answer.
func (m *Model) Apply(t economy.Txn) Outcome {
	if err := t.Validate(); err != nil {
		return Outcome{Err: economy.ErrInvalid}
	}
	fp := t.Fingerprint()
	if old, ok := m.keys[t.Key]; ok {
		if old.fp != fp {
			return Outcome{Err: economy.ErrKeyReused}
		}
		return Outcome{Replayed: true, Balances: old.balances}
	}
	next := map[economy.AccountID]int64{}
	for _, p := range t.Postings {
		if _, ok := next[p.Account]; !ok {
			next[p.Account] = m.bal[p.Account]
		}
		next[p.Account] += p.Amount
	}
	for id, b := range next {
		info, err := economy.ParseAccount(id)
		if err != nil {
			panic(fmt.Sprintf("model: %v", err)) // Validate passed
		}
		if b < 0 && !info.AllowNegative {
			return Outcome{Err: economy.ErrInsufficientFunds}
		}
	}
	maps.Copy(m.bal, next)
	m.keys[t.Key] = modelTxn{fp: fp, balances: next}
	return Outcome{Balances: next}
}

// Balances are the model's balances of every account used.
func (m *Model) Balances() map[economy.AccountID]int64 { return maps.Clone(m.bal) }

// Accounts are the accounts used, sorted.
func (m *Model) Accounts() []economy.AccountID { return slices.Sorted(maps.Keys(m.bal)) }
