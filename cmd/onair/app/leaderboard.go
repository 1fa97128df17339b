package app

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"iter"
	"time"

	"github.com/onair-live/onair/economy/board"
	"github.com/onair-live/onair/economy/board/redisboard"
	"github.com/onair-live/onair/economy/gift"
	"github.com/onair-live/onair/economy/sqlstore"
	"github.com/onair-live/onair/store"
)

// giftCredits reads every gift the ledger committed, in commit order, as
// leaderboard credits: the outbox keeps each transaction's event, so the
// boards can always be rebuilt from the books.
func giftCredits(ctx context.Context, db *store.DB) iter.Seq2[board.Credit, error] {
	return func(yield func(board.Credit, error) bool) {
		events := sqlstore.New(db)
		after := ""
		for {
			page, err := events.Events(ctx, gift.Subject(""), after, 1000)
			if err != nil {
				yield(board.Credit{}, err)
				return
			}
			for _, e := range page {
				after = e.TxnID
				var ev gift.Event
				if err := json.Unmarshal(e.Payload, &ev); err != nil {
					yield(board.Credit{}, fmt.Errorf("gift event %s: %w", e.TxnID, err))
					return
				}
				c := board.Credit{ID: e.TxnID, Room: ev.Room, Broadcast: ev.Body.Broadcast, User: ev.From.ID,
					Streamer: ev.Body.To.ID, Amount: ev.Body.Coins, Earned: ev.Body.Earned, At: time.UnixMilli(ev.TS)}
				if !yield(c, nil) {
					return
				}
			}
			if len(page) < 1000 {
				return
			}
		}
	}
}

// leaderboardRebuild is `onair leaderboard rebuild`: it replaces the Redis
// leaderboards with what the ledger's gifts make. Boards in memory (no
// --redis) are rebuilt by every server when it starts.
func leaderboardRebuild(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) int {
	const name = "onair leaderboard rebuild"
	cfg, code, ok := loadCommand(name, args, getenv, stderr, nil)
	if !ok {
		return code
	}
	if cfg.Redis == "" {
		fmt.Fprintln(stderr, name+": the leaderboards are in each server's memory (no --redis): a server rebuilds them from the ledger when it starts")
		return 2
	}
	db, err := openStore(ctx, cfg)
	if err != nil {
		fmt.Fprintln(stderr, name+":", err)
		return 1
	}
	defer db.Close()
	boards, err := redisboard.New(ctx, cfg.Redis, cfg.Economy.Boards)
	if err != nil {
		fmt.Fprintln(stderr, name+":", err)
		return 1
	}
	defer boards.Close()
	n := 0
	counted := func(yield func(board.Credit, error) bool) {
		for c, err := range giftCredits(ctx, db) {
			if err == nil {
				n++
			}
			if !yield(c, err) {
				return
			}
		}
	}
	start := time.Now()
	if err := boards.Rebuild(ctx, counted); err != nil {
		fmt.Fprintln(stderr, name+":", err)
		return 1
	}
	fmt.Fprintf(stdout, "leaderboards rebuilt from %d gifts in %s\n", n, time.Since(start).Round(time.Millisecond))
	return 0
}
