// Package ffmpegtest helps test ffmpeg jobs: argument lists compared with
// golden files.
package ffmpegtest

import (
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/ with what the code builds now")

// Golden compares args with testdata/<name>.golden, one argument per line (so
// a change reads as a diff of the arguments that changed). With -update it
// writes the file instead.
func Golden(t testing.TB, name string, args []string) {
	t.Helper()
	path := filepath.Join("testdata", name+".golden")
	got := strings.Join(args, "\n") + "\n"
	if *update {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run the test with -update to write it)", err)
	}
	if got != string(want) {
		t.Errorf("arguments of %s changed (run with -update if that is intended):\n--- %s\n%s--- now\n%s", name, path, want, got)
	}
}
