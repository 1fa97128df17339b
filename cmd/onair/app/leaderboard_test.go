package app

import (
	"bytes"
	"context"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/onair-live/onair/economy"
	"github.com/onair-live/onair/economy/board"
	"github.com/onair-live/onair/economy/board/redisboard"
	"github.com/onair-live/onair/economy/gift"
	"github.com/onair-live/onair/economy/sqlstore"
	"github.com/onair-live/onair/store"
)

// testRedisURL is a Redis database of its own for this package's tests (a
// rebuild replaces every board under the default prefix).
func testRedisURL(t *testing.T) string {
	raw := os.Getenv("ONAIR_TEST_REDIS")
	if raw == "" {
		raw = "redis://127.0.0.1:6379"
	}
	u, err := url.Parse(raw)
	if err != nil {
		t.Fatalf("ONAIR_TEST_REDIS: %v", err)
	}
	u.Path = "/11"
	return u.String()
}

// `onair leaderboard rebuild` fills Redis from the gifts in the ledger; a
// second run gives the same boards; without Redis it says what to do.
func TestLeaderboardRebuild(t *testing.T) {
	ctx := context.Background()
	data := t.TempDir()
	db, err := store.Open(ctx, filepath.Join(data, "onair.db"))
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	l, err := economy.NewLedger(economy.Config{}, economy.Deps{Store: sqlstore.New(db)})
	if err != nil {
		t.Fatal(err)
	}
	fan, star := gift.Party{ID: "01FANFANFANFANFANFANFANFAN", Name: "fan"}, gift.Party{ID: "01STARSTARSTARSTARSTARSTAR", Name: "star"}
	if _, err := l.Post(ctx, economy.Txn{Key: "topup", Kind: "grant", Postings: []economy.Posting{
		{Account: economy.PlatformAccount(economy.Issuance, economy.Coins), Currency: economy.Coins, Amount: -1000},
		{Account: economy.UserAccount(fan.ID, economy.Coins), Currency: economy.Coins, Amount: 1000},
	}}); err != nil {
		t.Fatal(err)
	}
	svc := &gift.Service{Catalog: catalog{db}, Terms: terms{db}, Ledger: l}
	for i, g := range []string{"rose", "cake", "rose"} {
		if _, err := svc.Send(ctx, gift.Request{Room: "star", From: fan, To: star, Gift: g, Count: 1, Key: string(rune('a' + i))}); err != nil {
			t.Fatal(err)
		}
	}
	l.Close()
	db.Close()

	redisURL := testRedisURL(t)
	run := func(args ...string) (int, string) {
		var out, errb bytes.Buffer
		code := Main(ctx, append([]string{"leaderboard", "rebuild", "--data", data}, args...), func(string) string { return "" }, &out, &errb)
		return code, out.String() + errb.String()
	}
	if code, out := run(); code != 2 || !strings.Contains(out, "rebuilds them from the ledger when it starts") {
		t.Fatalf("without Redis: %d %s", code, out)
	}
	for range 2 {
		if code, out := run("--redis", redisURL); code != 0 || !strings.Contains(out, "from 3 gifts") {
			t.Fatalf("rebuild: %d %s", code, out)
		}
		boards, err := redisboard.New(ctx, redisURL, board.Config{})
		if err != nil {
			t.Fatal(err)
		}
		top, err := boards.Top(ctx, board.Board{Kind: board.RoomAllTime, Room: "star"}, 10)
		boards.Close()
		if err != nil || len(top) != 1 || top[0].ID != fan.ID || top[0].Score != 120 {
			t.Fatalf("the room's board after the rebuild: %+v %v", top, err)
		}
	}
}
