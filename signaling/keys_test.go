package signaling

import (
	"context"
	"errors"
	"net"
	"testing"
)

func TestStaticKeys(t *testing.T) {
	k := StaticKeys{"alice": "alice-secret", "bob": "bob-secret-1"}
	ctx := context.Background()
	if id, err := k.PublishIdentity(ctx, "any", "bob-secret-1", nil); err != nil || id != "bob" {
		t.Fatalf("bob = %q %v", id, err)
	}
	if _, err := k.PublishIdentity(ctx, "any", "", nil); !errors.Is(err, ErrNoKey) {
		t.Fatalf("no key: %v", err)
	}
	if _, err := k.PublishIdentity(ctx, "any", "alice-secreT", nil); !errors.Is(err, ErrWrongKey) {
		t.Fatalf("wrong key: %v", err)
	}
}

func TestDevKeysOnlyOnLoopback(t *testing.T) {
	d := DevKeys{Next: StaticKeys{"alice": "alice-secret"}}
	ctx := context.Background()
	lo, remote := net.ParseIP("127.0.0.1"), net.ParseIP("192.0.2.7")
	a, err := d.PublishIdentity(ctx, "r", "anything", lo)
	b, _ := d.PublishIdentity(ctx, "r", "anything", lo)
	c, _ := d.PublishIdentity(ctx, "r", "something else", lo)
	if err != nil || a != b || a == c {
		t.Fatalf("dev identities %q %q %q (%v): same key → same identity, other key → other", a, b, c, err)
	}
	if id, _ := d.PublishIdentity(ctx, "r", "alice-secret", lo); id != "alice" {
		t.Fatalf("a configured key keeps its name in dev mode: %q", id)
	}
	if _, err := d.PublishIdentity(ctx, "r", "anything", remote); !errors.Is(err, ErrWrongKey) {
		t.Fatalf("dev mode from another machine: %v", err)
	}
	if id, err := d.PublishIdentity(ctx, "r", "alice-secret", remote); err != nil || id != "alice" {
		t.Fatalf("configured key from another machine: %q %v", id, err)
	}
}

func TestBearer(t *testing.T) {
	for in, want := range map[string]string{"Bearer abc": "abc", "bearer  abc ": "abc", "Basic abc": "", "": "", "Bearer": ""} {
		if got := bearer(in); got != want {
			t.Errorf("bearer(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestHumanize(t *testing.T) {
	for in, want := range map[string]string{
		"room: you may not chat in this room: timed out": "you may not chat in this room: timed out",
		"sfu: the stage is full: 4 co-hosts":             "the stage is full: 4 co-hosts",
		"store: room \"x\": store: not found":            "room \"x\": not found",
	} {
		if got := humanize(errors.New(in)); got != want {
			t.Errorf("humanize(%q) = %q, want %q", in, got, want)
		}
	}
}
