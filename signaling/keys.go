package signaling

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"fmt"
	"net"
)

// StaticKeys checks stream keys from the configuration: each entry names a publisher
// and the key they present. Any configured key may publish to any room.
type StaticKeys map[string]string

func (k StaticKeys) PublishIdentity(_ context.Context, _ string, key string, _ net.IP) (string, error) {
	if key == "" {
		return "", ErrNoKey
	}
	got := sha256.Sum256([]byte(key))
	for name, want := range k {
		w := sha256.Sum256([]byte(want))
		if subtle.ConstantTimeCompare(got[:], w[:]) == 1 {
			return name, nil
		}
	}
	return "", ErrWrongKey
}

// DevKeys lets anyone on a loopback address publish with any key (--dev). The
// identity is derived from the key, so the same key republishes into the same slot
// and different keys are different co-hosts.
type DevKeys struct{ Next KeyChecker }

func (d DevKeys) PublishIdentity(ctx context.Context, room, key string, remote net.IP) (string, error) {
	if remote == nil || !remote.IsLoopback() {
		if d.Next == nil {
			return "", fmt.Errorf("%w: dev mode accepts any key only from this machine", ErrWrongKey)
		}
		return d.Next.PublishIdentity(ctx, room, key, remote)
	}
	if d.Next != nil {
		if id, err := d.Next.PublishIdentity(ctx, room, key, remote); err == nil {
			return id, nil
		}
	}
	sum := sha256.Sum256([]byte(key))
	return "dev-" + hex.EncodeToString(sum[:4]), nil
}
