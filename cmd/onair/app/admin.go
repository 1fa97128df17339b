package app

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"flag"
	"fmt"
	"io"

	"github.com/onair-live/onair/account"
	"github.com/onair-live/onair/store"
)

// adminCreateUser is `onair admin create-user`: it prints `id: ...`, and for a
// streamer `stream_key: ...`, one per line (and `password: ...` when it made one).
func adminCreateUser(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) int {
	var name, role, password string
	cfg, code, ok := loadCommand("onair admin create-user", args, getenv, stderr, func(fs *flag.FlagSet) {
		fs.StringVar(&name, "name", "", "login handle, [a-z0-9_-]{3,32} (required)")
		fs.StringVar(&role, "role", "viewer", "superadmin, admin, streamer or viewer")
		fs.StringVar(&password, "password", "", "password (default: a random one, printed)")
	})
	if !ok {
		return code
	}
	r := store.Role(role)
	if !r.Valid() {
		fmt.Fprintf(stderr, "onair admin create-user: role %q: use superadmin, admin, streamer or viewer\n", role)
		return 2
	}
	if err := account.ValidName(name); err != nil {
		fmt.Fprintf(stderr, "onair admin create-user: name %q: %v\n", name, err)
		return 2
	}
	printPassword := password == ""
	if printPassword {
		var b [18]byte
		_, _ = rand.Read(b[:])
		password = base64.RawURLEncoding.EncodeToString(b[:])
	}
	db, svc, err := openAccounts(ctx, cfg)
	if err != nil {
		fmt.Fprintln(stderr, "onair admin create-user:", err)
		return 1
	}
	defer db.Close()
	u, err := svc.CreateUser(ctx, name, name, password, r)
	if err != nil {
		fmt.Fprintln(stderr, "onair admin create-user:", err)
		return 1
	}
	fmt.Fprintf(stdout, "id: %s\n", u.ID)
	if printPassword {
		fmt.Fprintf(stdout, "password: %s\n", password)
	}
	if r.AtLeast(store.RoleStreamer) {
		key, err := svc.RotateStreamKey(ctx, u.ID)
		if err != nil {
			fmt.Fprintln(stderr, "onair admin create-user:", err)
			return 1
		}
		fmt.Fprintf(stdout, "stream_key: %s\n", key)
	}
	return 0
}

// migrate is `onair migrate`: it applies the system of record's migrations.
func migrate(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) int {
	cfg, err := load("onair migrate", args, getenv, stderr, nil)
	if err != nil {
		fmt.Fprintln(stderr, "onair migrate:", err)
		return 2
	}
	db, err := openStore(ctx, cfg)
	if err != nil {
		fmt.Fprintln(stderr, "onair migrate:", err)
		return 1
	}
	defer db.Close()
	fmt.Fprintln(stdout, "migrations applied")
	return 0
}
