package economy

import (
	"cmp"
	"crypto/sha256"
	"encoding/binary"
	"encoding/json"
	"slices"
	"time"
	"unicode/utf8"
)

// Limits on one transaction, so that a batch has a bounded size and no amount
// can overflow a sum.
const (
	MaxPostings   = 64
	MaxAmount     = 1 << 50 // per posting, in either direction (about 10^15)
	MaxKeyLen     = 128
	MaxKindLen    = 32
	MaxSubjectLen = 255
	MaxPayload    = 64 << 10
	MaxMetadata   = 4 << 10 // as JSON
)

// Posting moves Amount of Currency into Account (out of it when negative).
type Posting struct {
	Account  AccountID
	Currency Currency
	Amount   int64
}

// Event is published on the bus once its transaction has committed.
type Event struct {
	Subject string // a NATS subject without wildcards, e.g. room.<id>.gift
	Payload []byte
}

// Txn is one money movement: postings that sum to zero per currency, applied
// together or not at all.
type Txn struct {
	// Key is the idempotency key, unique across the ledger: 1 to MaxKeyLen
	// printable ASCII characters. Callers namespace the keys that clients
	// choose (gift:<user id>:<client key>) so that two users cannot collide.
	Key string
	// Kind says what the movement is (gift, recharge, withdrawal_request...):
	// 1 to MaxKindLen of a-z, 0-9, _, - and dot.
	Kind     string
	Postings []Posting
	// Event, if set, is committed in the outbox with the transaction.
	Event *Event
	// Metadata records the request's parameters (gift, count, room, order id)
	// for history and audit.
	Metadata map[string]string
}

// Validate checks the transaction on its own (without balances): the key,
// kind, at least two and at most MaxPostings postings, each on a well-named
// account in that account's currency with a non-zero amount of at most
// MaxAmount, summing to zero per currency, and the event and metadata within
// their limits. Errors wrap ErrInvalid.
func (t *Txn) Validate() error {
	if !validKey(t.Key) {
		return invalidf("idempotency key %q: use 1 to %d printable ASCII characters", t.Key, MaxKeyLen)
	}
	if !validKind(t.Kind) {
		return invalidf("kind %q: use 1 to %d of a-z, 0-9, _, - and .", t.Kind, MaxKindLen)
	}
	if len(t.Postings) < 2 || len(t.Postings) > MaxPostings {
		return invalidf("%d postings: a transaction has 2 to %d", len(t.Postings), MaxPostings)
	}
	var sums [3]int64 // per currency, in the order of currencyIndex
	for _, p := range t.Postings {
		info, err := ParseAccount(p.Account)
		if err != nil {
			return err
		}
		if p.Currency != info.Currency {
			return invalidf("posting of %s to %s, an account in %s", p.Currency, p.Account, info.Currency)
		}
		if p.Amount == 0 || p.Amount > MaxAmount || p.Amount < -MaxAmount {
			return invalidf("amount %d to %s: non-zero, at most %d either way", p.Amount, p.Account, int64(MaxAmount))
		}
		sums[currencyIndex(p.Currency)] += p.Amount // cannot overflow: MaxPostings*MaxAmount < 2^63
	}
	for i, s := range sums {
		if s != 0 {
			return invalidf("postings in %s sum to %d, not zero", currencies[i], s)
		}
	}
	if t.Event != nil {
		if !validSubject(t.Event.Subject) {
			return invalidf("event subject %q: dot-separated tokens of printable ASCII, no spaces or wildcards, at most %d", t.Event.Subject, MaxSubjectLen)
		}
		if len(t.Event.Payload) > MaxPayload {
			return invalidf("event payload of %d bytes: at most %d", len(t.Event.Payload), MaxPayload)
		}
	}
	n := 2
	for k, v := range t.Metadata {
		// PostgreSQL's TEXT takes no NUL and no broken UTF-8; neither belongs
		// in a record anyway.
		if !utf8.ValidString(k) || !utf8.ValidString(v) || containsNUL(k) || containsNUL(v) {
			return invalidf("metadata %q: text must be UTF-8 without NUL", k)
		}
		n += len(k) + len(v) + 6
	}
	if n > MaxMetadata {
		return invalidf("metadata of about %d bytes: at most %d", n, MaxMetadata)
	}
	return nil
}

var currencies = [3]Currency{Coins, Earnings, Cents}

func currencyIndex(c Currency) int {
	switch c {
	case Coins:
		return 0
	case Earnings:
		return 1
	}
	return 2
}

func validKey(s string) bool {
	if s == "" || len(s) > MaxKeyLen {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < 0x21 || s[i] > 0x7e {
			return false
		}
	}
	return true
}

func validKind(s string) bool {
	if s == "" || len(s) > MaxKindLen {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '_' || c == '-' || c == '.') {
			return false
		}
	}
	return true
}

// validSubject follows NATS: tokens separated by dots, none empty, printable
// ASCII without spaces; a published subject has no wildcard token.
func validSubject(s string) bool {
	if s == "" || len(s) > MaxSubjectLen {
		return false
	}
	start := 0
	for i := 0; i <= len(s); i++ {
		if i < len(s) && s[i] != '.' {
			if s[i] < 0x21 || s[i] > 0x7e {
				return false
			}
			continue
		}
		if tok := s[start:i]; tok == "" || tok == "*" || tok == ">" {
			return false
		}
		start = i + 1
	}
	return true
}

func containsNUL(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] == 0 {
			return true
		}
	}
	return false
}

// Fingerprint identifies the transaction's parameters: kind, postings (in any
// order) and metadata. A retry under the same key must have the same one. The
// event is left out on purpose: it may carry a fresh timestamp on a retry, and
// the original's event is the one published.
func (t *Txn) Fingerprint() [32]byte {
	h := sha256.New()
	var buf [8]byte
	str := func(s string) {
		binary.BigEndian.PutUint64(buf[:], uint64(len(s)))
		h.Write(buf[:])
		h.Write([]byte(s))
	}
	str("onair.ledger.v1")
	str(t.Kind)
	ps := slices.Clone(t.Postings)
	slices.SortFunc(ps, func(a, b Posting) int {
		return cmp.Or(cmp.Compare(a.Account, b.Account), cmp.Compare(a.Currency, b.Currency), cmp.Compare(a.Amount, b.Amount))
	})
	for _, p := range ps {
		str(string(p.Account))
		str(string(p.Currency))
		binary.BigEndian.PutUint64(buf[:], uint64(p.Amount))
		h.Write(buf[:])
	}
	str(t.metadataJSON())
	var sum [32]byte
	h.Sum(sum[:0])
	return sum
}

// metadataJSON is the stored form of the metadata: a JSON object with sorted
// keys, "{}" when there is none.
func (t *Txn) metadataJSON() string {
	if len(t.Metadata) == 0 {
		return "{}"
	}
	b, err := json.Marshal(t.Metadata)
	if err != nil { // a map of strings always marshals
		panic(err)
	}
	return string(b)
}

// Receipt is the proof that a transaction committed.
type Receipt struct {
	TxnID string
	Key   string
	Kind  string
	At    time.Time // commit time, millisecond precision, UTC
	// Balances are those right after the transaction, of every account it
	// touched.
	Balances map[AccountID]int64
	// Replayed: the key was committed before (this call moved nothing); the
	// rest of the receipt is the original's.
	Replayed bool
}
