package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	client "github.com/onair-live/onair/clients/go"
)

func TestParsePublish(t *testing.T) {
	c, err := parsePublish([]string{"--room", "demo"}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if c.URL != "http://127.0.0.1:8080" || c.Room != "demo" || c.Key != "" || c.Video != "synthetic" || c.Audio != "synthetic" ||
		c.FPS != 30 || c.Duration != 30*time.Second || c.JSON || !c.Loopback {
		t.Errorf("defaults: %+v", c)
	}

	c, err = parsePublish([]string{"--url", "https://live.example.com", "--room", "r1", "--key", "K",
		"--video", "clip.H264", "--audio", "none", "--fps", "25", "--duration", "0", "--json"}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if c.URL != "https://live.example.com" || c.Key != "K" || c.Video != "clip.H264" || c.Audio != "none" || c.FPS != 25 ||
		c.Duration != 0 || !c.JSON || c.Loopback {
		t.Errorf("parsed: %+v", c)
	}

	c, err = parsePublish([]string{"--room", "r", "--loopback=false", "--video", "a.ivf", "--audio", "b.ogg"}, io.Discard)
	if err != nil || c.Loopback {
		t.Errorf("explicit --loopback=false on a loopback URL: %+v, %v", c, err)
	}

	bad := [][]string{
		{},                                  // no room
		{"--room", "r", "--url", "ftp://x"}, // not http
		{"--room", "r", "--url", "127.0.0.1:8080"}, // no scheme
		{"--room", "r", "--video", "clip.mp4"},
		{"--room", "r", "--audio", "song.mp3"},
		{"--room", "r", "--fps", "0"},
		{"--room", "r", "--bitrate", "-1"},
		{"--room", "r", "--duration", "-1s"},
		{"--room", "r", "--video", "none", "--audio", "none"},
		{"--room", "r", "extra"},
		{"--room", "r", "--nope"},
	}
	for _, args := range bad {
		var ue usageError
		if _, err := parsePublish(args, io.Discard); !errors.As(err, &ue) {
			t.Errorf("parsePublish(%q) = %v, want a usage error", args, err)
		}
	}
}

func TestParseWatch(t *testing.T) {
	c, err := parseWatch([]string{"--room", "demo"}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if c.Viewers != 1 || c.Slots != 1 || c.Duration != 30*time.Second || c.JSON || !c.Loopback {
		t.Errorf("defaults: %+v", c)
	}
	c, err = parseWatch([]string{"--url", "http://localhost:9000/", "--room", "demo", "--viewers", "50", "--slots", "3",
		"--duration", "10s", "--json", "--token", "T"}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if c.Viewers != 50 || c.Slots != 3 || c.Duration != 10*time.Second || !c.JSON || c.Token != "T" || !c.Loopback {
		t.Errorf("parsed: %+v", c)
	}
	for _, args := range [][]string{
		{"--room", "demo", "--viewers", "0"},
		{"--room", "demo", "--slots", "0"},
		{"--viewers", "2"},
	} {
		if _, err := parseWatch(args, io.Discard); err == nil {
			t.Errorf("parseWatch(%q) succeeded", args)
		}
	}
}

func TestRunExitCodes(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		args []string
		code int
		out  string // in stdout+stderr
	}{
		{nil, exitUsage, "usage: onairctl"},
		{[]string{"dance"}, exitUsage, `unknown command "dance"`},
		{[]string{"help"}, exitOK, "publish"},
		{[]string{"publish", "-h"}, exitOK, "-video"},
		{[]string{"watch", "-h"}, exitOK, "-viewers"},
		{[]string{"watch", "--viewers", "2"}, exitUsage, "--room is required"},
		{[]string{"publish", "--room", "r", "--bogus"}, exitUsage, "flag provided but not defined"},
		{[]string{"publish", "--room", "r", "--video", "missing.ivf"}, exitError, "missing.ivf"},
	}
	for _, tt := range tests {
		var out bytes.Buffer
		if code := run(ctx, tt.args, nil, &out, &out); code != tt.code || !strings.Contains(out.String(), tt.out) {
			t.Errorf("run(%q) = %d, output:\n%s\nwant %d and %q", tt.args, code, out.String(), tt.code, tt.out)
		}
	}
}

// A refused publish shows the server's problem detail and exits 1.
func TestRunPublishRefused(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/problem+json")
		w.WriteHeader(http.StatusForbidden)
		_, _ = io.WriteString(w, `{"title":"Forbidden","detail":"this stream key is not for room demo","status":403}`)
	}))
	defer srv.Close()
	var stdout, stderr bytes.Buffer
	code := run(context.Background(), []string{"publish", "--url", srv.URL, "--room", "demo", "--key", "x", "--duration", "1s"}, nil, &stdout, &stderr)
	if code != exitError || !strings.Contains(stderr.String(), "this stream key is not for room demo") {
		t.Errorf("exit %d, stderr %q", code, stderr.String())
	}
}

func TestPercentile(t *testing.T) {
	ms := func(v ...int) []time.Duration {
		var d []time.Duration
		for _, x := range v {
			d = append(d, time.Duration(x)*time.Millisecond)
		}
		return d
	}
	ten := ms(10, 20, 30, 40, 50, 60, 70, 80, 90, 100)
	tests := []struct {
		values []time.Duration
		p      float64
		want   time.Duration
	}{
		{nil, 50, 0},
		{ms(7), 50, 7 * time.Millisecond},
		{ms(7), 100, 7 * time.Millisecond},
		{ten, 50, 50 * time.Millisecond},
		{ten, 95, 100 * time.Millisecond},
		{ten, 90, 90 * time.Millisecond},
		{ten, 100, 100 * time.Millisecond},
		{ten, 1, 10 * time.Millisecond},
		{ten, 0, 10 * time.Millisecond},
		{ms(1, 2, 3, 4), 50, 2 * time.Millisecond},
		{ms(1, 2, 3, 4), 51, 3 * time.Millisecond},
	}
	for _, tt := range tests {
		if got := percentile(tt.values, tt.p); got != tt.want {
			t.Errorf("percentile(%v, %v) = %v, want %v", tt.values, tt.p, got, tt.want)
		}
	}
}

func TestSummarize(t *testing.T) {
	viewer := func(first time.Duration, packets, bytes, missing, expected uint64) viewerResult {
		tracks := []client.TrackStats{{Kind: "audio", Packets: 50, Bytes: 1000, Expected: 50}}
		if first > 0 {
			tracks = append(tracks, client.TrackStats{Kind: "video", Packets: packets, Bytes: bytes, Missing: missing,
				Expected: expected, Keyframes: 1, FirstKeyframe: first})
		}
		return viewerResult{Stats: client.ViewerStats{Elapsed: 2 * time.Second, Connected: time.Millisecond, Tracks: tracks}}
	}
	s := summarize([]viewerResult{
		viewer(100*time.Millisecond, 100, 99_000, 0, 100),
		viewer(300*time.Millisecond, 100, 99_000, 10, 110),
		viewer(0, 0, 0, 0, 0),
		{Err: errors.New("HTTP 503")},
	})
	if s.Viewers != 4 || s.Started != 3 || s.Connected != 3 || s.WithKeyframe != 2 || len(s.Errors) != 1 {
		t.Errorf("counts: %+v", s)
	}
	if s.FirstFrame != (msStats{P50: 100, P95: 300, P99: 300, Max: 300}) {
		t.Errorf("first frame %+v", s.FirstFrame)
	}
	if s.Packets != 350 || s.Bytes != 201_000 || s.Missing != 10 || s.Expected != 360 {
		t.Errorf("totals: %+v", s)
	}
	if s.BitrateBps != 201_000*8/2 || s.ViewerBps != s.BitrateBps/3 {
		t.Errorf("bitrate %v, per viewer %v", s.BitrateBps, s.ViewerBps)
	}
	var table, js bytes.Buffer
	if err := printWatch(&table, false, s); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"4 (3 started, 3 connected, 2 with a keyframe)", "p50 100 ms", "p95 300 ms", "loss", "(10 missing of 360 expected)"} {
		if !strings.Contains(table.String(), want) {
			t.Errorf("table lacks %q:\n%s", want, table.String())
		}
	}
	if err := printWatch(&js, true, s); err != nil {
		t.Fatal(err)
	}
	var back map[string]any
	if err := json.Unmarshal(js.Bytes(), &back); err != nil || back["viewers"] != 4.0 || back["first_frame_ms"] == nil {
		t.Errorf("JSON %s: %v", js.String(), err)
	}
}
