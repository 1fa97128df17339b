package settings

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"
)

func TestDefaultIsValidAndRoundTrips(t *testing.T) {
	d := Default()
	if err := d.Validate(); err != nil {
		t.Fatal(err)
	}
	b, err := json.Marshal(d)
	if err != nil {
		t.Fatal(err)
	}
	got, err := Parse(b)
	if err != nil {
		t.Fatal(err)
	}
	if got.RedPacketTTL != d.RedPacketTTL || len(got.Packages) != len(d.Packages) || got.CommissionPercent != 50 {
		t.Fatalf("round trip: %+v", got)
	}
	if !strings.Contains(string(b), `"red_packet_ttl":"5m0s"`) {
		t.Fatalf("ttl encoded as %s", b)
	}
	old, err := Parse([]byte(`{"commission_percent": 30}`))
	if err != nil || old.CommissionPercent != 30 || old.CoinsPerYuan != 10 {
		t.Fatalf("a partial document: %+v %v", old, err)
	}
}

func TestValidateNamesTheTerm(t *testing.T) {
	cases := []struct {
		edit func(*Settings)
		want string
	}{
		{func(s *Settings) { s.CoinsPerYuan = 0 }, "coins_per_yuan"},
		{func(s *Settings) { s.Packages = nil }, "packages"},
		{func(s *Settings) { s.CommissionPercent = 101 }, "commission_percent"},
		{func(s *Settings) { s.WithdrawDailyLimit = s.WithdrawMin - 1 }, "withdraw_daily_limit"},
		{func(s *Settings) { s.RedPacketMaxShares = 0 }, "red_packet_max_shares"},
		{func(s *Settings) { s.RedPacketTTL = Duration(time.Second) }, "red_packet_ttl"},
		{func(s *Settings) { s.Packages = append(s.Packages, s.Packages[0]) }, "twice"},
		{func(s *Settings) { s.Packages[0].ID = "Big Pack" }, "package id"},
		{func(s *Settings) { s.CoinsPerYuan = 3; s.Packages = []Package{{ID: "odd", PriceCents: 101}} }, "whole number"},
		{func(s *Settings) { s.Packages[1].BonusCoins = -1 }, "bonus_coins"},
	}
	for _, c := range cases {
		s := Default()
		s.Packages = append([]Package(nil), s.Packages...)
		c.edit(&s)
		err := s.Validate()
		if !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("want an error naming %q, got %v", c.want, err)
		}
	}
	if _, err := Parse([]byte(`{"red_packet_ttl": 5}`)); !errors.Is(err, ErrInvalid) {
		t.Errorf("a numeric ttl: %v", err)
	}
}

func TestConversionsAreExact(t *testing.T) {
	s := Default()
	p, ok := s.Package("p30")
	if !ok || s.Coins(p) != 310 {
		t.Fatalf("p30 buys %d coins", s.Coins(p))
	}
	for _, c := range []struct {
		value              int64
		percent            int
		streamer, platform int64
	}{
		{100, 50, 50, 50}, {1, 50, 1, 0}, {99, 30, 70, 29}, {7, 0, 7, 0}, {7, 100, 0, 7},
	} {
		st, pl := Split(c.value, c.percent)
		if st != c.streamer || pl != c.platform || st+pl != c.value {
			t.Errorf("Split(%d, %d%%) = %d, %d", c.value, c.percent, st, pl)
		}
	}
	if s.WithdrawCents(150) != 1500 {
		t.Fatalf("withdraw 150 → %d cents", s.WithdrawCents(150))
	}
}
