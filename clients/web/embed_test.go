package web

import (
	"io/fs"
	"regexp"
	"strings"
	"testing"
)

func read(t *testing.T, name string) string {
	t.Helper()
	b, err := fs.ReadFile(FS, name)
	if err != nil {
		t.Fatalf("FS lacks %s: %v", name, err)
	}
	return string(b)
}

func TestFSLayout(t *testing.T) {
	for _, name := range []string{
		"lobby.html", "login.html", "messages.html", "studio.html", "watch.html",
		"static/style.css", "static/common.js", "static/api.js", "static/stage.js", "static/layers.js", "static/room-channel.js",
		"static/lobby.js", "static/login.js", "static/studio.js", "static/watch.js", "static/chat.js",
		"static/likes.js", "static/moderation.js", "static/inbox.js", "static/messages.js",
		"wallet.html", "earnings.html", "static/wallet.js", "static/earnings.js",
		"replay.html", "static/replay.js", "admin-live.html", "static/admin-live.js", "static/recording-switch.js",
	} {
		read(t, name)
	}
}

// Every /static/ URL of a page and every relative import of a module must
// exist in FS: there is no build step to catch a typo.
func TestReferencesResolve(t *testing.T) {
	pageRef := regexp.MustCompile(`(?:src|href)="/(static/[^"]+)"`)
	for _, page := range []string{"lobby.html", "login.html", "messages.html", "studio.html", "watch.html", "wallet.html", "earnings.html", "replay.html", "admin-live.html"} {
		refs := pageRef.FindAllStringSubmatch(read(t, page), -1)
		if len(refs) < 2 {
			t.Errorf("%s references %d assets, want its script and style.css", page, len(refs))
		}
		for _, m := range refs {
			if _, err := fs.Stat(FS, m[1]); err != nil {
				t.Errorf("%s references /%s, which FS lacks", page, m[1])
			}
		}
	}
	importRef := regexp.MustCompile(`(?m)^\s*(?:import|export)\b[^;]*?from\s+'\./([^']+)'`)
	scripts, _ := fs.Glob(FS, "static/*.js")
	for _, js := range scripts {
		for _, m := range importRef.FindAllStringSubmatch(read(t, js), -1) {
			if _, err := fs.Stat(FS, "static/"+m[1]); err != nil {
				t.Errorf("%s imports ./%s, which FS lacks", js, m[1])
			}
		}
	}
}

// Text from users or servers is set with textContent, never parsed as HTML.
func TestNoHTMLInjectionSinks(t *testing.T) {
	scripts, _ := fs.Glob(FS, "static/*.js")
	for _, js := range scripts {
		src := read(t, js)
		for _, sink := range []string{"innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval("} {
			if strings.Contains(src, sink) {
				t.Errorf("%s uses %s", js, sink)
			}
		}
	}
}
