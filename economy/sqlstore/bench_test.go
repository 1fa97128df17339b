package sqlstore_test

import (
	"testing"

	"github.com/onair-live/onair/economy"
	"github.com/onair-live/onair/economy/ledgertest"
	"github.com/onair-live/onair/economy/sqlstore"
)

// go test -run '^$' -bench Gifts -benchtime 20000x ./economy/sqlstore/
//
// BenchmarkGifts: 64 senders post gift-shaped transfers (sender's coins back
// to issuance, earnings split between the streamer and the platform, an outbox
// event), durable commits, on each engine, with group commit and without
// (MaxBatch 1: one database transaction per transfer).
func BenchmarkGifts(b *testing.B) {
	for _, e := range ledgertest.Engines {
		for _, mode := range []struct {
			name     string
			maxBatch int
		}{{"group", 0}, {"single", 1}} {
			b.Run(e.Name+"/"+mode.name, func(b *testing.B) {
				l, err := economy.NewLedger(economy.Config{MaxBatch: mode.maxBatch}, economy.Deps{Store: sqlstore.New(e.Open(b))})
				if err != nil {
					b.Fatal(err)
				}
				defer l.Close()
				ledgertest.GiftLoad(b, l, 64, 8)
			})
		}
	}
}
