package app

import (
	"os/exec"
	"strings"
	"testing"
)

// The planes import each other one way only (DESIGN.md): the media plane knows no
// users, HTTP or echo; domain packages know no echo; nothing below cmd imports it.
func TestImportDirection(t *testing.T) {
	const mod = "github.com/onair-live/onair/"
	forbidden := map[string][]string{
		"sfu":         {"github.com/labstack/echo", mod + "room", mod + "signaling", mod + "economy", mod + "cmd", "net/http"},
		"room":        {"github.com/labstack/echo", mod + "signaling", mod + "cmd", "net/http"},
		"economy":     {"github.com/labstack/echo", mod + "sfu", mod + "room", mod + "signaling", mod + "cmd", "net/http"},
		"media":       {"github.com/labstack/echo", mod + "room", mod + "signaling", mod + "economy", mod + "cmd", "net/http"},
		"signaling":   {mod + "cmd"},
		"clients/go":  {mod + "sfu", mod + "room", mod + "signaling", mod + "cmd"},
		"clients/web": {mod + "sfu", mod + "room", mod + "signaling", mod + "cmd"},
	}
	for pkg, bad := range forbidden {
		out, err := exec.Command("go", "list", "-deps", mod+pkg).Output()
		if err != nil {
			t.Fatalf("go list %s: %v", pkg, err)
		}
		for _, dep := range strings.Fields(string(out)) {
			for _, b := range bad {
				if dep == b || strings.HasPrefix(dep, b+"/") || (strings.HasPrefix(b, "github.com/labstack") && strings.HasPrefix(dep, b)) {
					t.Errorf("%s imports %s", pkg, dep)
				}
			}
		}
	}
}
