package economy

import (
	"strings"
	"time"
)

// Currency is a unit that balances are counted in, as an int64 number of units.
type Currency string

const (
	// Coins are what viewers buy and spend on gifts and red packets.
	Coins Currency = "coins"
	// Earnings are what streamers earn from gifts and withdraw.
	Earnings Currency = "earnings"
	// Cents are the platform's money (the smallest unit of the currency that
	// recharges are paid in and withdrawals paid out in).
	Cents Currency = "cents"
)

// Valid reports whether c is one of the ledger's currencies.
func (c Currency) Valid() bool { return c == Coins || c == Earnings || c == Cents }

// AccountID names a ledger account; it carries the owner and the currency:
// user:<user id>:<coins|earnings> or platform:<kind>:<currency>.
type AccountID string

// AccountKind says what an account is for, and so whether it may go negative.
type AccountKind string

const (
	// KindUser is a user's wallet (coins) or earnings. Never negative.
	KindUser AccountKind = "user"
	// Issuance is the platform's source and sink of a currency: coins are
	// minted from it at recharge and return to it when spent on a gift;
	// earnings are created from it by gifts and return to it when paid out.
	// It may be negative: minus the amount in circulation.
	Issuance AccountKind = "issuance"
	// CashIn is the money received from payment providers, in cents. It may
	// be negative: minus the total received.
	CashIn AccountKind = "cashin"
	// Revenue is what the platform keeps: its commission on gifts, the cents
	// of recharges. Never negative.
	Revenue AccountKind = "revenue"
	// Payouts is what was paid out to streamers. Never negative.
	Payouts AccountKind = "payouts"
	// Escrow holds the coins of red packets until they are grabbed or
	// refunded. Never negative.
	Escrow AccountKind = "escrow"
	// Holds keeps the earnings of withdrawals between request and approval or
	// rejection. Never negative.
	Holds AccountKind = "holds"
)

// mayGoNegative is the only place that says which accounts may be negative:
// those standing for the outside world, whose negative balance counts what
// came in from it.
func (k AccountKind) mayGoNegative() bool { return k == Issuance || k == CashIn }

func (k AccountKind) platform() bool {
	switch k {
	case Issuance, CashIn, Revenue, Payouts, Escrow, Holds:
		return true
	}
	return false
}

const (
	userPrefix     = "user:"
	platformPrefix = "platform:"
	// PlatformOwner is the owner of every platform account.
	PlatformOwner = "platform"
	maxUserIDLen  = 64
)

// UserAccount is the account of user in c: coins or earnings.
func UserAccount(user string, c Currency) AccountID {
	return AccountID(userPrefix + user + ":" + string(c))
}

// PlatformAccount is the platform's account of kind k in c.
func PlatformAccount(k AccountKind, c Currency) AccountID {
	return AccountID(platformPrefix + string(k) + ":" + string(c))
}

// AccountInfo is what an account id says about the account.
type AccountInfo struct {
	ID            AccountID
	Owner         string // the user's id, or PlatformOwner
	Kind          AccountKind
	Currency      Currency
	AllowNegative bool
}

// ParseAccount checks id against the naming rules and tells what it names.
func ParseAccount(id AccountID) (AccountInfo, error) {
	s := string(id)
	i := strings.LastIndexByte(s, ':')
	if i < 0 {
		return AccountInfo{}, invalidf("account %q: use user:<id>:<currency> or platform:<kind>:<currency>", s)
	}
	info := AccountInfo{ID: id, Currency: Currency(s[i+1:])}
	if !info.Currency.Valid() {
		return AccountInfo{}, invalidf("account %q: unknown currency %q (coins, earnings or cents)", s, info.Currency)
	}
	switch head := s[:i]; {
	case strings.HasPrefix(head, userPrefix):
		info.Owner, info.Kind = head[len(userPrefix):], KindUser
		if !validUserID(info.Owner) {
			return AccountInfo{}, invalidf("account %q: a user id is 1 to %d letters, digits, - or _", s, maxUserIDLen)
		}
		if info.Currency == Cents {
			return AccountInfo{}, invalidf("account %q: users hold coins and earnings, not cents", s)
		}
	case strings.HasPrefix(head, platformPrefix):
		info.Owner, info.Kind = PlatformOwner, AccountKind(head[len(platformPrefix):])
		if !info.Kind.platform() {
			return AccountInfo{}, invalidf("account %q: unknown platform account %q", s, info.Kind)
		}
	default:
		return AccountInfo{}, invalidf("account %q: use user:<id>:<currency> or platform:<kind>:<currency>", s)
	}
	info.AllowNegative = info.Kind.mayGoNegative()
	return info, nil
}

func validUserID(s string) bool {
	if s == "" || len(s) > maxUserIDLen {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}

// Account is an account as stored.
type Account struct {
	AccountInfo
	Balance   int64
	CreatedAt time.Time
}
