package e2e

import (
	"context"
	"database/sql"
	"fmt"
	"math/rand/v2"
	"os"
	"strings"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib"

	"github.com/onair-live/onair/cmd/onair/app"
)

// freshPostgres returns a DSN for an empty schema of the test PostgreSQL server,
// dropped when the test ends. No server fails the test.
func freshPostgres(t testing.TB) string {
	t.Helper()
	base := os.Getenv("ONAIR_TEST_POSTGRES")
	if base == "" {
		base = "postgres://postgres@127.0.0.1:5432/test?sslmode=disable"
	}
	db, err := sql.Open("pgx", base)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := db.PingContext(ctx); err != nil {
		t.Fatalf("PostgreSQL at %s: %v (scripts/test starts one; or set ONAIR_TEST_POSTGRES)", base, err)
	}
	schema := fmt.Sprintf("e2e_%d", rand.Int64())
	if _, err := db.ExecContext(ctx, "CREATE SCHEMA "+schema); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_, _ = db.Exec("DROP SCHEMA " + schema + " CASCADE")
		db.Close()
	})
	sep := "?"
	if strings.Contains(base, "?") {
		sep = "&"
	}
	return base + sep + "search_path=" + schema
}

func testRedis() string {
	if u := os.Getenv("ONAIR_TEST_REDIS"); u != "" {
		return u
	}
	return "redis://127.0.0.1:6379/15"
}

// cluster starts two nodes on one outside NATS with one token secret; with a
// shared store they also share PostgreSQL (and Redis, when redis is true).
func cluster(t *testing.T, sharedStore, redis bool) (a, b *node) {
	t.Helper()
	nats, secret := startNATS(t), strings.Repeat("s", 40)
	dsn := ""
	if sharedStore {
		dsn = freshPostgres(t)
	}
	shared := func(c *app.Config) {
		c.NATS, c.Secret, c.DB = nats, secret, dsn
		if redis {
			c.Redis = testRedis()
		}
	}
	return startNode(t, shared), startNode(t, shared)
}

// Two nodes share PostgreSQL, Redis and NATS: an account made on one logs in on
// the other, and the other's lobby shows the first node's live room and viewers.
func TestTwoNodesShareState(t *testing.T) {
	a, b := cluster(t, true, true)
	room := fmt.Sprintf("shared%d", rand.IntN(1_000_000))
	u := createUser(t, a, room, "streamer", "shared-password")
	token := login(t, b, room, "shared-password")
	if status, out, _ := api(t, a, "GET", "/api/me", token, nil); status != 200 || out["name"] != room {
		t.Fatalf("node B's token on node A: %d %v", status, out)
	}
	publishSynthetic(t, a, room, u["stream_key"], 30, false)
	for range 3 {
		watch(t, a, room, "", 1)
	}
	viewersOn := func(n *node) float64 {
		_, out, _ := api(t, n, "GET", "/api/rooms", "", nil)
		rooms, _ := out["rooms"].([]any)
		for _, r := range rooms {
			if m := r.(map[string]any); m["id"] == room {
				return m["viewers"].(float64)
			}
		}
		return -1
	}
	eventually(t, 5*time.Second, "node B's lobby to show node A's room with 3 viewers", func() bool { return viewersOn(b) == 3 })
	if got := viewersOn(a); got != 3 {
		t.Fatalf("node A's lobby: %v viewers", got)
	}
}
