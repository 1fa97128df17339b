package room

import (
	"errors"
	"strings"
	"testing"
)

func TestParseID(t *testing.T) {
	for _, ok := range []string{"demo", "a", "alice_01", "co-host", strings.Repeat("x", 64)} {
		if _, err := ParseID(ok); err != nil {
			t.Errorf("ParseID(%q) = %v", ok, err)
		}
	}
	for _, bad := range []string{"", "Demo", "a b", "../etc", "ü", "a.b", strings.Repeat("x", 65)} {
		if _, err := ParseID(bad); !errors.Is(err, ErrBadID) {
			t.Errorf("ParseID(%q) = %v, want ErrBadID", bad, err)
		}
	}
}
