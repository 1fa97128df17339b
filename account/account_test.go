package account

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/onair-live/onair/room/memstore"
	"github.com/onair-live/onair/store"
)

func newService(t *testing.T) (*Service, *store.DB) {
	t.Helper()
	ctx := context.Background()
	db, err := store.Open(ctx, "sqlite://"+filepath.Join(t.TempDir(), "onair.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	if err := db.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	s, err := New(db, memstore.New(), []byte(strings.Repeat("s", 32)), Config{LoginBurst: 5, LoginPerMinute: 1})
	if err != nil {
		t.Fatal(err)
	}
	return s, db
}

func TestPasswordHash(t *testing.T) {
	h, err := HashPassword("correct horse")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(h, "$argon2id$v=19$m=19456,t=2,p=1$") {
		t.Fatalf("hash %q", h)
	}
	if ok, _ := CheckPassword(h, "correct horse"); !ok {
		t.Fatal("right password refused")
	}
	if ok, _ := CheckPassword(h, "correct horsE"); ok {
		t.Fatal("wrong password accepted")
	}
	h2, _ := HashPassword("correct horse")
	if h == h2 {
		t.Fatal("two hashes of one password are equal: no salt")
	}
	for _, bad := range []string{"", "$argon2id$v=19$m=x$a$b", "$bcrypt$...", "$argon2id$v=19$m=1,t=1,p=1$!!$!!"} {
		if ok, err := CheckPassword(bad, "x"); ok || err == nil {
			t.Errorf("CheckPassword(%q) = %v, %v", bad, ok, err)
		}
	}
}

func TestSignupLoginAndTokens(t *testing.T) {
	s, db := newService(t)
	ctx := context.Background()
	sess, err := s.Signup(ctx, "alice", "alice-password", "10.0.0.1")
	if err != nil {
		t.Fatal(err)
	}
	if sess.User.Role != store.RoleViewer || sess.Token == "" {
		t.Fatalf("signup %+v", sess)
	}
	if _, err := s.Signup(ctx, "alice", "another-password", "10.0.0.2"); !errors.Is(err, ErrNameTaken) {
		t.Fatalf("second signup: %v", err)
	}
	for _, c := range []struct{ name, pw string }{{"Al", "alice-password"}, {"UPPER", "alice-password"}, {"bob", "short"}} {
		if _, err := s.Signup(ctx, c.name, c.pw, "10.0.0.3"); !errors.Is(err, ErrBadName) && !errors.Is(err, ErrWeakPassword) {
			t.Errorf("signup %q/%q: %v", c.name, c.pw, err)
		}
	}
	if _, err := s.Login(ctx, "alice", "wrong-password", "10.0.0.4"); !errors.Is(err, ErrBadCredentials) {
		t.Fatalf("wrong password: %v", err)
	}
	if _, err := s.Login(ctx, "nobody", "whatever-pw", "10.0.0.4"); !errors.Is(err, ErrBadCredentials) {
		t.Fatalf("unknown user: %v", err)
	}
	in, err := s.Login(ctx, "alice", "alice-password", "10.0.0.4")
	if err != nil {
		t.Fatal(err)
	}
	u, c, err := s.Verify(ctx, in.Token)
	if err != nil || u.Name != "alice" || c.UserID != u.ID {
		t.Fatalf("verify %+v %+v %v", u, c, err)
	}

	// Tampered: flip a character of the signature, and of the payload.
	sig := in.Token[:len(in.Token)-2] + flip(in.Token[len(in.Token)-2:])
	parts := strings.Split(in.Token, ".")
	payload := parts[0] + "." + flip(parts[1][:4]) + parts[1][4:] + "." + parts[2]
	none := "eyJhbGciOiJub25lIn0." + parts[1] + "."
	for name, tok := range map[string]string{"signature": sig, "payload": payload, "alg none": none, "garbage": "abc"} {
		if _, _, err := s.Verify(ctx, tok); !errors.Is(err, ErrTokenInvalid) {
			t.Errorf("tampered %s: %v", name, err)
		}
	}
	// Another secret's token.
	other, _ := New(db, nil, []byte(strings.Repeat("x", 32)), Config{})
	forged, _ := other.issue(u)
	if _, _, err := s.Verify(ctx, forged.Token); !errors.Is(err, ErrTokenInvalid) {
		t.Errorf("token of another secret: %v", err)
	}
	// Expired.
	s.now = func() time.Time { return time.Now().Add(8 * 24 * time.Hour) }
	if _, _, err := s.Verify(ctx, in.Token); !errors.Is(err, ErrTokenInvalid) || !strings.Contains(err.Error(), "expired") {
		t.Errorf("expired: %v", err)
	}
	s.now = time.Now
	// Revoked by logout; the other session stays valid.
	if err := s.Logout(ctx, c); err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.Verify(ctx, in.Token); !errors.Is(err, ErrTokenInvalid) || !strings.Contains(err.Error(), "revoked") {
		t.Errorf("revoked: %v", err)
	}
	if _, _, err := s.Verify(ctx, sess.Token); err != nil {
		t.Errorf("the signup session was revoked too: %v", err)
	}
	// Revoke all of a user's tokens.
	if err := db.RevokeAllFor(ctx, u.ID, time.Now()); err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.Verify(ctx, sess.Token); !errors.Is(err, ErrTokenInvalid) {
		t.Errorf("after revoke-all: %v", err)
	}
	// Banned users cannot log in and their tokens stop working.
	time.Sleep(2 * time.Millisecond)
	fresh, _ := s.Login(ctx, "alice", "alice-password", "10.0.0.9")
	if err := db.SetBanned(ctx, u.ID, true, "spam"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Login(ctx, "alice", "alice-password", "10.0.0.9"); !errors.Is(err, ErrBanned) || !strings.Contains(err.Error(), "spam") {
		t.Errorf("banned login: %v", err)
	}
	if _, _, err := s.Verify(ctx, fresh.Token); !errors.Is(err, ErrBanned) {
		t.Errorf("banned token: %v", err)
	}
}

func flip(s string) string {
	b := []byte(s)
	if b[0] == 'A' {
		b[0] = 'B'
	} else {
		b[0] = 'A'
	}
	return string(b)
}

func TestLoginIsRateLimited(t *testing.T) {
	s, _ := newService(t)
	ctx := context.Background()
	if _, err := s.CreateUser(ctx, "carol", "carol", "carol-password", store.RoleViewer); err != nil {
		t.Fatal(err)
	}
	// One address guessing one account (in any letter case) is stopped at the 6th try.
	var rl *RateLimitError
	for i := range 6 {
		_, err := s.Login(ctx, []string{"carol", "CAROL", "Carol"}[i%3], "wrong-password", "10.1.0.1")
		if i < 5 && !errors.Is(err, ErrBadCredentials) {
			t.Fatalf("attempt %d: %v", i+1, err)
		}
		if i == 5 && (!errors.As(err, &rl) || rl.RetryAfterSeconds < 1) {
			t.Fatalf("6th attempt: %v", err)
		}
	}
	// The owner elsewhere is not locked out by it.
	if _, err := s.Login(ctx, "carol", "carol-password", "10.9.9.9"); err != nil {
		t.Fatalf("owner from another address: %v", err)
	}
	// Guessing one account from many addresses is capped too (10 × the burst).
	limited := false
	for i := range 60 {
		if _, err := s.Login(ctx, "carol", "wrong-password", fmt.Sprintf("10.3.%d.%d", i/250, i%250)); errors.Is(err, ErrRateLimited) {
			limited = true
			break
		}
	}
	if !limited {
		t.Fatal("60 guesses from 60 addresses were never limited")
	}
	// One address guessing many accounts.
	for i := range 6 {
		_, err := s.Login(ctx, "user"+string(rune('a'+i)), "x-password", "10.2.0.1")
		if i == 5 && !errors.Is(err, ErrRateLimited) {
			t.Fatalf("sixth attempt from one address: %v", err)
		}
	}
}

func TestStreamKeys(t *testing.T) {
	s, db := newService(t)
	ctx := context.Background()
	dora, err := s.CreateUser(ctx, "dora", "Dora", "dora-password", store.RoleStreamer)
	if err != nil {
		t.Fatal(err)
	}
	eve, _ := s.CreateUser(ctx, "eve", "Eve", "eve-password", store.RoleStreamer)
	viewer, _ := s.CreateUser(ctx, "vic", "Vic", "vic-password", store.RoleViewer)
	key, err := s.RotateStreamKey(ctx, dora.ID)
	if err != nil || !strings.HasPrefix(key, "sk_") || len(key) < 40 {
		t.Fatalf("key %q %v", key, err)
	}
	eveKey, _ := s.RotateStreamKey(ctx, eve.ID)
	if _, err := s.RotateStreamKey(ctx, viewer.ID); !errors.Is(err, ErrForbidden) {
		t.Fatalf("viewer got a stream key: %v", err)
	}
	if id, err := s.PublishIdentity(ctx, "dora", key, nil); err != nil || id != "dora" {
		t.Fatalf("right key: %q %v", id, err)
	}
	if _, err := s.PublishIdentity(ctx, "dora", "", nil); !errors.Is(err, ErrNoStreamKey) {
		t.Errorf("no key: %v", err)
	}
	if _, err := s.PublishIdentity(ctx, "dora", "sk_wrong", nil); !errors.Is(err, ErrWrongStreamKey) {
		t.Errorf("wrong key: %v", err)
	}
	if _, err := s.PublishIdentity(ctx, "dora", eveKey, nil); !errors.Is(err, ErrWrongStreamKey) || !strings.Contains(err.Error(), `"eve"`) {
		t.Errorf("another room's key: %v", err)
	}
	newKey, _ := s.RotateStreamKey(ctx, dora.ID)
	if _, err := s.PublishIdentity(ctx, "dora", key, nil); !errors.Is(err, ErrWrongStreamKey) {
		t.Errorf("old key after rotation: %v", err)
	}
	if err := db.PutSettings(ctx, store.Settings{BroadcastRequiresVerified: true}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.PublishIdentity(ctx, "dora", newKey, nil); !errors.Is(err, ErrForbidden) || !strings.Contains(err.Error(), "verified") {
		t.Errorf("unverified with verification required: %v", err)
	}
	_ = db.SetVerified(ctx, dora.ID, true)
	_ = db.PutSettings(ctx, store.Settings{BroadcastRequiresVerified: true, BroadcastMinLevel: 3})
	if _, err := s.PublishIdentity(ctx, "dora", newKey, nil); !errors.Is(err, ErrForbidden) || !strings.Contains(err.Error(), "level 3") {
		t.Errorf("below the minimum level: %v", err)
	}
	_ = db.SetLevel(ctx, dora.ID, 3)
	if _, err := s.PublishIdentity(ctx, "dora", newKey, nil); err != nil {
		t.Errorf("verified at level 3: %v", err)
	}
	_ = db.SetBanned(ctx, dora.ID, true, "stream sniping")
	if _, err := s.PublishIdentity(ctx, "dora", newKey, nil); !errors.Is(err, ErrBanned) || !strings.Contains(err.Error(), "stream sniping") {
		t.Errorf("banned streamer: %v", err)
	}
}
