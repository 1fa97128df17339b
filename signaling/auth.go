package signaling

import (
	"context"
	"net"
	"strings"
)

// KeyChecker decides who may publish to a room. It returns the publisher's identity,
// which keeps their stage slot across a republish; ErrNoKey or ErrWrongKey refuse.
type KeyChecker interface {
	PublishIdentity(ctx context.Context, room, key string, remote net.IP) (string, error)
}

// bearer extracts the token of an Authorization: Bearer header.
func bearer(h string) string {
	scheme, token, ok := strings.Cut(h, " ")
	if !ok || !strings.EqualFold(scheme, "bearer") {
		return ""
	}
	return strings.TrimSpace(token)
}
