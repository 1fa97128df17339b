package app

import (
	"log/slog"

	"github.com/onair-live/onair/economy"
	"github.com/onair-live/onair/economy/redpacket"
	"github.com/onair-live/onair/economy/redpacket/dbstore"
	"github.com/onair-live/onair/store"
)

// newRedPackets runs red packets on the node's ledger, their rows and the
// admin's limits in the system of record. Its sweeper (expiry refunds, and
// whatever a crash left half done, on this node or another) starts with
// Start in Run and stops with Close, before the ledger closes.
func newRedPackets(db *store.DB, ledger *economy.Ledger, log *slog.Logger) (*redpacket.Service, error) {
	return redpacket.New(redpacket.Config{}, redpacket.Deps{Store: dbstore.New(db), Ledger: ledger, Terms: terms{db}, Log: log})
}
