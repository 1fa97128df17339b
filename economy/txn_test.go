package economy_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/onair-live/onair/economy"
)

var (
	aliceCoins = economy.UserAccount("alice", economy.Coins)
	bobCoins   = economy.UserAccount("bob", economy.Coins)
	issCoins   = economy.PlatformAccount(economy.Issuance, economy.Coins)
	issEarn    = economy.PlatformAccount(economy.Issuance, economy.Earnings)
)

func pay(from, to economy.AccountID, n int64) []economy.Posting {
	return []economy.Posting{{Account: from, Currency: economy.Coins, Amount: -n}, {Account: to, Currency: economy.Coins, Amount: n}}
}

func TestParseAccount(t *testing.T) {
	for _, tc := range []struct {
		id       economy.AccountID
		owner    string
		kind     economy.AccountKind
		cur      economy.Currency
		negative bool
	}{
		{"user:01ARZ3NDEKTSV4RRFFQ69G5FAV:coins", "01ARZ3NDEKTSV4RRFFQ69G5FAV", economy.KindUser, economy.Coins, false},
		{"user:bob_the-streamer:earnings", "bob_the-streamer", economy.KindUser, economy.Earnings, false},
		{"platform:issuance:coins", economy.PlatformOwner, economy.Issuance, economy.Coins, true},
		{"platform:issuance:earnings", economy.PlatformOwner, economy.Issuance, economy.Earnings, true},
		{"platform:cashin:cents", economy.PlatformOwner, economy.CashIn, economy.Cents, true},
		{"platform:revenue:earnings", economy.PlatformOwner, economy.Revenue, economy.Earnings, false},
		{"platform:payouts:cents", economy.PlatformOwner, economy.Payouts, economy.Cents, false},
		{"platform:escrow:coins", economy.PlatformOwner, economy.Escrow, economy.Coins, false},
		{"platform:holds:earnings", economy.PlatformOwner, economy.Holds, economy.Earnings, false},
	} {
		info, err := economy.ParseAccount(tc.id)
		if err != nil || info.ID != tc.id || info.Owner != tc.owner || info.Kind != tc.kind || info.Currency != tc.cur || info.AllowNegative != tc.negative {
			t.Errorf("ParseAccount(%q) = %+v, %v", tc.id, info, err)
		}
	}
	if got := economy.UserAccount("u1", economy.Coins); got != "user:u1:coins" {
		t.Errorf("UserAccount = %q", got)
	}
	if got := economy.PlatformAccount(economy.Escrow, economy.Coins); got != "platform:escrow:coins" {
		t.Errorf("PlatformAccount = %q", got)
	}
	for _, bad := range []economy.AccountID{
		"", "alice", "user:alice", "user::coins", "user:alice:dollars", "user:alice:cents", "user:a:b:coins",
		"user:" + economy.AccountID(strings.Repeat("x", 65)) + ":coins", "user:al ice:coins",
		"platform:vault:coins", "platform::coins", "platform:issuance", "bank:issuance:coins", "user:alice:Coins",
	} {
		if _, err := economy.ParseAccount(bad); !errors.Is(err, economy.ErrInvalid) {
			t.Errorf("ParseAccount(%q): %v, want ErrInvalid", bad, err)
		}
	}
}

func TestValidate(t *testing.T) {
	ok := economy.Txn{Key: "gift:alice:1", Kind: "gift", Postings: pay(aliceCoins, issCoins, 10),
		Event: &economy.Event{Subject: "room.bob.gift", Payload: []byte("{}")}, Metadata: map[string]string{"gift": "rose"}}
	if err := ok.Validate(); err != nil {
		t.Fatalf("a valid transaction: %v", err)
	}
	many := make([]economy.Posting, 0, economy.MaxPostings+2)
	for range economy.MaxPostings/2 + 1 {
		many = append(many, pay(aliceCoins, bobCoins, 1)...)
	}
	for name, change := range map[string]func(*economy.Txn){
		"empty key":         func(t *economy.Txn) { t.Key = "" },
		"key with a space":  func(t *economy.Txn) { t.Key = "a b" },
		"key not ASCII":     func(t *economy.Txn) { t.Key = "ключ" },
		"long key":          func(t *economy.Txn) { t.Key = strings.Repeat("k", economy.MaxKeyLen+1) },
		"empty kind":        func(t *economy.Txn) { t.Kind = "" },
		"upper-case kind":   func(t *economy.Txn) { t.Kind = "Gift" },
		"one posting":       func(t *economy.Txn) { t.Postings = t.Postings[:1] },
		"too many postings": func(t *economy.Txn) { t.Postings = many },
		"zero amount":       func(t *economy.Txn) { t.Postings = pay(aliceCoins, issCoins, 0) },
		"huge amount":       func(t *economy.Txn) { t.Postings = pay(aliceCoins, issCoins, economy.MaxAmount+1) },
		"unbalanced": func(t *economy.Txn) {
			t.Postings = []economy.Posting{{Account: aliceCoins, Currency: economy.Coins, Amount: -10}, {Account: issCoins, Currency: economy.Coins, Amount: 9}}
		},
		"balanced across currencies only": func(t *economy.Txn) {
			t.Postings = []economy.Posting{{Account: aliceCoins, Currency: economy.Coins, Amount: -10}, {Account: issEarn, Currency: economy.Earnings, Amount: 10}}
		},
		"currency not the account's": func(t *economy.Txn) {
			t.Postings = []economy.Posting{{Account: aliceCoins, Currency: economy.Earnings, Amount: -10}, {Account: issEarn, Currency: economy.Earnings, Amount: 10}}
		},
		"unknown account":      func(t *economy.Txn) { t.Postings = pay("bank:vault", issCoins, 10) },
		"wildcard subject":     func(t *economy.Txn) { t.Event.Subject = "room.*.gift" },
		"empty subject token":  func(t *economy.Txn) { t.Event.Subject = "room..gift" },
		"subject with a space": func(t *economy.Txn) { t.Event.Subject = "room.a b" },
		"big payload":          func(t *economy.Txn) { t.Event.Payload = make([]byte, economy.MaxPayload+1) },
		"big metadata":         func(t *economy.Txn) { t.Metadata = map[string]string{"note": strings.Repeat("n", economy.MaxMetadata)} },
		"NUL in metadata":      func(t *economy.Txn) { t.Metadata = map[string]string{"note": "a\x00b"} },
		"bad UTF-8 metadata":   func(t *economy.Txn) { t.Metadata = map[string]string{"note": "\xff"} },
	} {
		txn := ok
		txn.Event = &economy.Event{Subject: ok.Event.Subject, Payload: ok.Event.Payload}
		change(&txn)
		if err := txn.Validate(); !errors.Is(err, economy.ErrInvalid) {
			t.Errorf("%s: %v, want ErrInvalid", name, err)
		}
	}
}

func TestFingerprint(t *testing.T) {
	base := economy.Txn{Key: "k", Kind: "gift", Postings: pay(aliceCoins, issCoins, 10), Metadata: map[string]string{"a": "1", "b": "2"}}
	fp := base.Fingerprint()
	same := base
	same.Key = "other" // the key names the request; it is not a parameter
	same.Postings = []economy.Posting{base.Postings[1], base.Postings[0]}
	same.Metadata = map[string]string{"b": "2", "a": "1"}
	same.Event = &economy.Event{Subject: "x", Payload: []byte("a fresh timestamp")}
	if same.Fingerprint() != fp {
		t.Error("posting order, map order, key or event changed the fingerprint")
	}
	for name, change := range map[string]func(*economy.Txn){
		"kind":     func(t *economy.Txn) { t.Kind = "tip" },
		"amount":   func(t *economy.Txn) { t.Postings = pay(aliceCoins, issCoins, 11) },
		"account":  func(t *economy.Txn) { t.Postings = pay(bobCoins, issCoins, 10) },
		"metadata": func(t *economy.Txn) { t.Metadata = map[string]string{"a": "1", "b": "3"} },
		"no metadata": func(t *economy.Txn) {
			t.Metadata = nil
		},
	} {
		other := base
		change(&other)
		if other.Fingerprint() == fp {
			t.Errorf("another %s, same fingerprint", name)
		}
	}
}

func TestInsufficientFundsError(t *testing.T) {
	var err error = &economy.InsufficientFundsError{Account: aliceCoins, Currency: economy.Coins, Needed: 120, Balance: 80}
	if err.Error() != "Not enough coins: 120 needed, you have 80" {
		t.Errorf("message %q", err)
	}
	wrapped := errors.Join(errors.New("context"), err)
	if !errors.Is(wrapped, economy.ErrInsufficientFunds) || errors.Is(wrapped, economy.ErrInvalid) {
		t.Error("errors.Is does not see ErrInsufficientFunds alone")
	}
	err = &economy.InsufficientFundsError{Account: economy.PlatformAccount(economy.Holds, economy.Earnings), Currency: economy.Earnings, Needed: 5, Balance: 2}
	if err.Error() != "Not enough earnings in platform:holds:earnings: 5 needed, it has 2" {
		t.Errorf("platform message %q", err)
	}
}
