// Package settings holds the terms of the economy that an admin sets: the
// recharge ratio and packages, the platform's commission on gifts, the
// withdrawal ratio and limits, and the limits on red packets. Amounts are
// integers in their unit (coins, earnings, cents); a ratio is an integer too,
// chosen so that every conversion is exact.
package settings

import (
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"time"
)

// ErrInvalid wraps every refusal of Validate.
var ErrInvalid = errors.New("settings: invalid")

// Package is a recharge offer: PriceCents of the platform currency buys
// PriceCents*CoinsPerYuan/100 coins, plus BonusCoins.
type Package struct {
	ID         string `json:"id"`
	PriceCents int64  `json:"price_cents"`
	BonusCoins int64  `json:"bonus_coins"`
}

// Settings are the economy's terms. The zero value of a field is not a valid
// term; Default gives the platform's starting terms.
type Settings struct {
	// CoinsPerYuan is the recharge ratio: coins for 100 cents.
	CoinsPerYuan int64     `json:"coins_per_yuan"`
	Packages     []Package `json:"packages"`
	// CommissionPercent is the platform's share of a gift's value (0-100);
	// the streamer earns the rest, in earnings units (1 coin of gift = 1
	// earnings unit before commission).
	CommissionPercent int `json:"commission_percent"`
	// WithdrawCentsPerEarning is the withdrawal ratio: cents paid out per
	// earnings unit.
	WithdrawCentsPerEarning int64 `json:"withdraw_cents_per_earning"`
	// WithdrawMin is the smallest withdrawal, in earnings units.
	WithdrawMin int64 `json:"withdraw_min"`
	// WithdrawDailyLimit caps what one streamer requests per UTC day, in
	// earnings units.
	WithdrawDailyLimit int64 `json:"withdraw_daily_limit"`
	// RedPacketMaxCoins and RedPacketMaxShares bound one red packet;
	// RedPacketTTL is how long it can be grabbed before the rest goes back.
	RedPacketMaxCoins  int64    `json:"red_packet_max_coins"`
	RedPacketMaxShares int      `json:"red_packet_max_shares"`
	RedPacketTTL       Duration `json:"red_packet_ttl"`
}

// Default is what a platform starts with.
func Default() Settings {
	return Settings{
		CoinsPerYuan: 10,
		Packages: []Package{
			{ID: "p6", PriceCents: 600},
			{ID: "p30", PriceCents: 3000, BonusCoins: 10},
			{ID: "p98", PriceCents: 9800, BonusCoins: 50},
			{ID: "p298", PriceCents: 29800, BonusCoins: 200},
		},
		CommissionPercent:       50,
		WithdrawCentsPerEarning: 10,
		WithdrawMin:             100,
		WithdrawDailyLimit:      100_000,
		RedPacketMaxCoins:       100_000,
		RedPacketMaxShares:      100,
		RedPacketTTL:            Duration(5 * time.Minute),
	}
}

// Limits that keep every product of amounts and ratios far from overflow.
const (
	maxRatio  = 1_000_000
	maxAmount = 1 << 40
)

var packageID = regexp.MustCompile(`^[a-z0-9_-]{1,32}$`)

// Validate checks every term; errors wrap ErrInvalid and say which term.
func (s Settings) Validate() error {
	switch {
	case s.CoinsPerYuan < 1 || s.CoinsPerYuan > maxRatio:
		return invalid("coins_per_yuan must be 1 to %d", maxRatio)
	case len(s.Packages) == 0 || len(s.Packages) > 20:
		return invalid("give 1 to 20 recharge packages")
	case s.CommissionPercent < 0 || s.CommissionPercent > 100:
		return invalid("commission_percent must be 0 to 100")
	case s.WithdrawCentsPerEarning < 1 || s.WithdrawCentsPerEarning > maxRatio:
		return invalid("withdraw_cents_per_earning must be 1 to %d", maxRatio)
	case s.WithdrawMin < 1 || s.WithdrawMin > maxAmount:
		return invalid("withdraw_min must be 1 to %d", int64(maxAmount))
	case s.WithdrawDailyLimit < s.WithdrawMin || s.WithdrawDailyLimit > maxAmount:
		return invalid("withdraw_daily_limit must be at least withdraw_min and at most %d", int64(maxAmount))
	case s.RedPacketMaxCoins < 1 || s.RedPacketMaxCoins > maxAmount:
		return invalid("red_packet_max_coins must be 1 to %d", int64(maxAmount))
	case s.RedPacketMaxShares < 1 || s.RedPacketMaxShares > 1000:
		return invalid("red_packet_max_shares must be 1 to 1000")
	case time.Duration(s.RedPacketTTL) < 10*time.Second || time.Duration(s.RedPacketTTL) > 7*24*time.Hour:
		return invalid("red_packet_ttl must be 10s to 168h")
	}
	seen := map[string]bool{}
	for _, p := range s.Packages {
		switch {
		case !packageID.MatchString(p.ID):
			return invalid("package id %q: 1 to 32 of a-z, 0-9, _ and -", p.ID)
		case seen[p.ID]:
			return invalid("package id %q twice", p.ID)
		case p.PriceCents < 1 || p.PriceCents > maxAmount:
			return invalid("package %s: price_cents must be 1 to %d", p.ID, int64(maxAmount))
		case p.PriceCents*s.CoinsPerYuan%100 != 0:
			return invalid("package %s: %d cents at %d coins per yuan is not a whole number of coins", p.ID, p.PriceCents, s.CoinsPerYuan)
		case p.BonusCoins < 0 || p.BonusCoins > maxAmount:
			return invalid("package %s: bonus_coins must be 0 to %d", p.ID, int64(maxAmount))
		}
		seen[p.ID] = true
	}
	return nil
}

// Coins is what package p buys at these terms, bonus included.
func (s Settings) Coins(p Package) int64 { return p.PriceCents*s.CoinsPerYuan/100 + p.BonusCoins }

// Package finds a recharge package by id.
func (s Settings) Package(id string) (Package, bool) {
	for _, p := range s.Packages {
		if p.ID == id {
			return p, true
		}
	}
	return Package{}, false
}

// Split divides a gift of value coins at commission percent: what the
// streamer earns and what the platform keeps, in earnings units. The
// platform's share is rounded down, so a streamer never loses to rounding.
func Split(value int64, commissionPercent int) (streamer, platform int64) {
	platform = value * int64(commissionPercent) / 100
	return value - platform, platform
}

// WithdrawCents is what a withdrawal of earnings units pays out.
func (s Settings) WithdrawCents(earnings int64) int64 { return earnings * s.WithdrawCentsPerEarning }

// Parse reads settings stored as JSON; fields missing from the document keep
// their defaults, so settings saved by an older version stay valid.
func Parse(b []byte) (Settings, error) {
	s := Default()
	if len(b) == 0 {
		return s, nil
	}
	if err := json.Unmarshal(b, &s); err != nil {
		return Settings{}, fmt.Errorf("%w: %v", ErrInvalid, err)
	}
	return s, s.Validate()
}

func invalid(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrInvalid}, args...)...)
}

// Duration is a time.Duration written as "5m0s" in JSON.
type Duration time.Duration

func (d Duration) MarshalJSON() ([]byte, error) { return json.Marshal(time.Duration(d).String()) }

func (d *Duration) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return fmt.Errorf("a duration is a string like \"5m\": %w", err)
	}
	v, err := time.ParseDuration(s)
	if err != nil {
		return err
	}
	*d = Duration(v)
	return nil
}
