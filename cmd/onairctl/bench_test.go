package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	client "github.com/onair-live/onair/clients/go"
	"github.com/onair-live/onair/cmd/onair/app"
)

func TestParseBench(t *testing.T) {
	c, err := parseBench(nil, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if c.URL != defaultURL || c.Room != "bench" || c.Viewers != 10 || c.Duration != 30*time.Second || c.Ramp != 0 ||
		c.Settle != 2*time.Second || c.Bitrate != 2_000_000 || c.FPS != 30 || c.Simulcast || c.Video != "synthetic" ||
		c.Audio != "synthetic" || !c.Loopback || c.AllowRemote || c.ServerPID != 0 || c.JSON {
		t.Errorf("defaults: %+v", c)
	}
	c, err = parseBench([]string{"--url", "http://[::1]:9000", "--room", "r", "--key", "K", "--viewers", "200", "--duration", "5s",
		"--ramp", "2s", "--settle", "0", "--bitrate", "1500000", "--simulcast", "--server-pid", "77", "--json", "--audio", "none"}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if c.Room != "r" || c.Key != "K" || c.Viewers != 200 || c.Duration != 5*time.Second || c.Ramp != 2*time.Second || c.Settle != 0 ||
		c.Bitrate != 1_500_000 || !c.Simulcast || c.ServerPID != 77 || !c.JSON || c.Audio != "none" || !c.Loopback {
		t.Errorf("parsed: %+v", c)
	}
	if _, err := parseBench([]string{"--url", "https://live.example.com", "--allow-remote"}, io.Discard); err != nil {
		t.Errorf("--allow-remote: %v", err)
	}
	if _, err := parseBench([]string{"--simulcast", "--video", "q.ivf,h.ivf,f.ivf"}, io.Discard); err != nil {
		t.Errorf("three .ivf layers: %v", err)
	}
	for _, args := range [][]string{
		{"--url", "https://live.example.com"}, // not this machine
		{"--url", "http://10.0.0.8:8080"},
		{"--viewers", "0"},
		{"--viewers", "100000"},
		{"--ramp", "-1s"},
		{"--settle", "-1s"},
		{"--bitrate", "0"},
		{"--fps", "0"},
		{"--server-pid", "-3"},
		{"--video", "none"},
		{"--video", "clip.mp4"},
		{"--audio", "song.mp3"},
		{"--simulcast", "--video", "clip.ivf"},
		{"--simulcast", "--video", "q.ivf,h.ivf,f.h264"},
		{"extra"},
	} {
		var ue usageError
		if _, err := parseBench(args, io.Discard); !errors.As(err, &ue) {
			t.Errorf("parseBench(%q) = %v, want a usage error", args, err)
		}
	}
	var out bytes.Buffer
	if code := run(context.Background(), []string{"bench", "--url", "http://192.0.2.1"}, nil, &out, &out); code != exitUsage ||
		!strings.Contains(out.String(), "--allow-remote") {
		t.Errorf("a remote URL: exit %d, %q", code, out.String())
	}
}

// The report of made-up viewers: percentiles, loss, the rows by layer and the
// server's CPU per viewer.
func TestBenchReport(t *testing.T) {
	b := &mediaBench{c: benchConfig{publishConfig: publishConfig{commonFlags: commonFlags{URL: "http://127.0.0.1:8080", Room: "bench"},
		Video: "synthetic", Audio: "synthetic", FPS: 30, Bitrate: 2_000_000}, Viewers: 4, Simulcast: true}}
	video := func(first time.Duration, layers ...client.LayerStats) client.TrackStats {
		var bytes uint64
		for _, l := range layers {
			bytes += l.Bytes
		}
		return client.TrackStats{Kind: "video", Bytes: bytes, Missing: 1, Expected: 100, FirstPacket: time.Second,
			LastPacket: 3 * time.Second, FirstFrame: first, Keyframes: 1}
	}
	audio := client.TrackStats{Kind: "audio", Frames: 100, Bytes: 10_000, Expected: 100, FirstPacket: time.Second, LastPacket: 3 * time.Second}
	withLayers := func(t client.TrackStats, layers ...client.LayerStats) client.TrackStats { t.Layers = layers; return t }
	padded := func(t client.TrackStats) client.TrackStats {
		t.PaddingPackets, t.PaddingBytes, t.Bytes = 10, 25_000, t.Bytes+25_000
		return t
	}
	f := client.LayerStats{Layer: 2, RID: "f", Frames: 60, Bytes: 500_000, FirstPacket: time.Second, LastPacket: 3 * time.Second}
	q := client.LayerStats{Layer: 0, RID: "q", Frames: 60, Bytes: 30_000, FirstPacket: 2 * time.Second, LastPacket: 3 * time.Second}
	viewer := func(tracks ...client.TrackStats) viewerResult {
		return viewerResult{Stats: client.ViewerStats{Connected: time.Millisecond, Tracks: tracks}}
	}
	b.results = []viewerResult{
		viewer(withLayers(video(100*time.Millisecond, f), f), audio),
		viewer(withLayers(padded(video(300*time.Millisecond, f)), f), audio),
		viewer(withLayers(video(200*time.Millisecond, q, f), q, f), audio),
		{Err: errors.New("HTTP 503")},
	}
	for i, d := range []time.Duration{1, 2, 3, 4, 5, 6, 7, 8, 9, 100} {
		b.shards[i%latencyShards].all.Record(d * time.Millisecond)
		b.shards[i%latencyShards].layer[2].Record(d * time.Millisecond)
	}
	b.shards[3].all.Record(time.Millisecond)
	b.shards[3].layer[0].Record(time.Millisecond)
	sent := client.PublisherStats{Video: client.SenderStats{Kind: "video", Bytes: 1_000_000},
		Audio:  client.SenderStats{Kind: "audio", Bytes: 2_000, PLIs: 0},
		Layers: []client.SenderStats{{RID: "q", Bytes: 50_000, PLIs: 2}, {RID: "h", Bytes: 200_000}, {RID: "f", Bytes: 750_000, NACKs: 1}}}
	r := b.report(4*time.Second, time.Second, sent, 4*time.Second)

	if r.Viewers != 4 || r.Started != 3 || r.Connected != 3 || r.WithFrame != 3 || len(r.Errors) != 1 || r.Seconds != 4 || r.RampSeconds != 1 {
		t.Errorf("counts: %+v", r)
	}
	if r.TTFF.P50 != 200 || r.TTFF.P95 != 300 || r.TTFF.Max != 300 {
		t.Errorf("TTFF %+v", r.TTFF)
	}
	// The histogram's buckets are 1.6 % wide: 5 ms is reported as up to 5.08 ms.
	near := func(got, want float64) bool { return got >= want && got <= want*1.016 }
	if r.LatencyFrames != 11 || !near(r.Latency.P50, 5) || r.Latency.P99 != 100 || r.Latency.Max != 100 {
		t.Errorf("latency %+v over %d frames", r.Latency, r.LatencyFrames)
	}
	if r.VideoLoss != (lossStats{Missing: 3, Expected: 300, Loss: 0.01}) || r.AudioLoss.Expected != 300 || r.AudioLoss.Loss != 0 {
		t.Errorf("loss: video %+v, audio %+v", r.VideoLoss, r.AudioLoss)
	}
	if len(r.Layers) != 4 || r.Layers[0].Layer != "q" || r.Layers[1].Layer != "f" || r.Layers[2].Layer != "padding" || r.Layers[3].Layer != "audio" {
		t.Fatalf("rows %+v", r.Layers)
	}
	if pr := r.Layers[2]; pr.Viewers != 1 || pr.Frames != 10 || pr.Bytes != 25_000 || pr.ViewerBps != 100_000 {
		t.Errorf("row padding %+v", pr)
	}
	// Each viewer received for 2 s: f is 500 kB, 2 Mbit/s, at three viewers.
	if fr := r.Layers[1]; fr.Viewers != 3 || fr.Frames != 180 || fr.ViewerBps != 2_000_000 || fr.TotalBps != 6_000_000 ||
		fr.Latency == nil || !near(fr.Latency.P50, 5) {
		t.Errorf("row f %+v", fr)
	}
	// q came for the last second only.
	if qr := r.Layers[0]; qr.Viewers != 1 || qr.ViewerBps != 240_000 || qr.Latency == nil || qr.Latency.P99 != 1 {
		t.Errorf("row q %+v", qr)
	}
	if ar := r.Layers[3]; ar.Viewers != 3 || ar.Frames != 300 || ar.ViewerBps != 40_000 || ar.Latency != nil {
		t.Errorf("row audio %+v", ar)
	}
	if len(r.Sent) != 4 || r.Sent[0].Layer != "q" || r.Sent[0].BitrateBps != 100_000 || r.Sent[0].PLIs != 2 ||
		r.Sent[2].NACKs != 1 || r.Sent[3].Layer != "audio" {
		t.Errorf("sent %+v", r.Sent)
	}

	// 0.5 cores with the viewers, 0.2 with the publisher alone: 100 CPU-ms
	// per viewer-second for 3 viewers, 8 viewers in the 0.8 core left.
	t0 := time.Now()
	u := cpuUsage{
		settleStart: cpuAt{0, t0}, settleEnd: cpuAt{200 * time.Millisecond, t0.Add(time.Second)},
		start: cpuAt{time.Second, t0.Add(2 * time.Second)}, end: cpuAt{3 * time.Second, t0.Add(6 * time.Second)},
	}
	r.Server = u.report(cpuSource{pid: 4242}, r.Connected)
	r.LoadCores = 0.25
	if s := r.Server; s.Source != "/proc/4242" || s.PublisherCores != 0.2 || s.Cores != 0.5 ||
		s.CPUMsPerViewerSecond < 99.999 || s.CPUMsPerViewerSecond > 100.001 || s.ViewersPerCore < 7.999 || s.ViewersPerCore > 8.001 || s.InProcess {
		t.Errorf("server %+v", s)
	}
	if s := (cpuUsage{err: errors.New("metrics: no process_cpu_seconds_total in the answer")}).report(cpuSource{metrics: "http://x/metrics"}, 3); s.Error == "" || s.Cores != 0 {
		t.Errorf("failed samples: %+v", s)
	}

	var table, js bytes.Buffer
	if err := printBench(&table, false, r); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"4 viewers of bench", "simulcast q/h/f", "3 started, 3 connected, 3 with a first frame",
		"p50 200 ms, p95 300 ms", "p99 100 ms, max 100 ms (send to last packet read, 11 frames)", "video 1.000% (3 of 300)", "q 100.0 kbit/s (PLI 2, NACK 0)",
		"2.00 Mbit/s", "100.00 CPU-ms per viewer-second, 8 viewers per core", "load CPU     0.250 cores", "errors       1, the first: HTTP 503"} {
		if !strings.Contains(table.String(), want) {
			t.Errorf("table lacks %q:\n%s", want, table.String())
		}
	}
	if err := printBench(&js, true, r); err != nil {
		t.Fatal(err)
	}
	var back benchReport
	if err := json.Unmarshal(js.Bytes(), &back); err != nil || back.TTFF != r.TTFF || len(back.Layers) != 4 || back.Server.ViewersPerCore != r.Server.ViewersPerCore {
		t.Errorf("JSON %s: %v", js.String(), err)
	}
}

// startNode runs an onair node in this process (dev mode, loopback only, free
// ports) and returns its base URL.
func startNode(t *testing.T) string {
	t.Helper()
	cfg := app.DefaultConfig()
	cfg.HTTP = "127.0.0.1:0"
	cfg.Data = t.TempDir()
	cfg.Dev = true
	cfg.SFU.UDPPort = -1
	cfg.SFU.LoopbackOnly = true
	off := false // no ffmpeg beside the load
	cfg.Egress.HLS, cfg.Egress.Snapshots = &off, &off
	a, err := app.New(cfg, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- a.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("node stopped with %v", err)
			}
		case <-time.After(15 * time.Second):
			t.Errorf("node did not stop within 15 s")
		}
	})
	return "http://" + a.Addr().String()
}

// benchJSON runs "onairctl bench --json" with args and returns its report.
func benchJSON(t *testing.T, args ...string) benchReport {
	t.Helper()
	var stdout, stderr bytes.Buffer
	code := run(context.Background(), append(append([]string{"bench"}, args...), "--json"), nil, &stdout, &stderr)
	if code != exitOK {
		t.Fatalf("exit %d:\n%s\n%s", code, stderr.String(), stdout.String())
	}
	var r benchReport
	if err := json.Unmarshal(stdout.Bytes(), &r); err != nil {
		t.Fatalf("%v:\n%s", err, stdout.String())
	}
	t.Logf("%s", stdout.String())
	return r
}

// rowsByName indexes a report's rows.
func rowsByName(r benchReport) map[string]layerReport {
	m := map[string]layerReport{}
	for _, l := range r.Layers {
		m[l.Layer] = l
	}
	return m
}

// Short runs against a real node: three viewers of a single layer get their
// first frames, latencies and bit rates, and the node's CPU is read from
// /proc (this process); then of three simulcast layers, read with UDP_GRO
// (latency to the kernel's receive time), each viewer gets one of them.
func TestBench(t *testing.T) {
	base := startNode(t)
	r := benchJSON(t, "--url", base, "--room", "benchmedia", "--viewers", "3", "--duration", "3s", "--settle", "500ms",
		"--ramp", "300ms", "--bitrate", "500000")
	if r.Viewers != 3 || r.Started != 3 || r.Connected != 3 || r.WithFrame != 3 || r.Seconds < 3 || r.Simulcast {
		t.Errorf("viewers: %+v", r)
	}
	if r.TTFF.P50 <= 0 || r.TTFF.P95 < r.TTFF.P50 || r.TTFF.Max < r.TTFF.P95 {
		t.Errorf("TTFF %+v", r.TTFF)
	}
	if r.LatencyFrames == 0 || r.Latency.P50 <= 0 || r.Latency.P99 < r.Latency.P50 || r.GRO || r.LatencyAtSocket != 0 {
		t.Errorf("latency %+v over %d frames (%d at the socket)", r.Latency, r.LatencyFrames, r.LatencyAtSocket)
	}
	if r.VideoLoss.Expected == 0 || r.AudioLoss.Expected == 0 || r.VideoLoss.Loss < 0 || r.VideoLoss.Loss > 1 {
		t.Errorf("loss: video %+v, audio %+v", r.VideoLoss, r.AudioLoss)
	}
	rows := rowsByName(r)
	if v, ok := rows["video"]; !ok || v.Viewers != 3 || v.Frames == 0 || v.ViewerBps <= 0 || v.TotalBps < v.ViewerBps ||
		v.Latency == nil || v.Latency.P50 <= 0 {
		t.Errorf("video row %+v in %+v", v, r.Layers)
	}
	if a, ok := rows["audio"]; !ok || a.Viewers != 3 || a.ViewerBps <= 0 {
		t.Errorf("audio row %+v", a)
	}
	if len(r.Sent) != 2 || r.Sent[0].Layer != "video" || r.Sent[0].BitrateBps <= 0 {
		t.Errorf("sent %+v", r.Sent)
	}
	if s := r.Server; s == nil || s.Error != "" || !s.InProcess || s.Cores <= 0 || s.PublisherCores < 0 || r.LoadCores <= 0 {
		t.Errorf("server %+v, load %v cores", r.Server, r.LoadCores)
	}
	// Without a pid, the CPU comes from the server's /metrics.
	src := cpuSource{metrics: base + "/metrics"}
	if c, err := src.sample(context.Background()); err != nil || c.cpu <= 0 || c.at.IsZero() || src.String() != base+"/metrics" {
		t.Errorf("CPU from %v: %+v, %v", src, c, err)
	}

	r = benchJSON(t, "--url", base, "--room", "benchsimulcast", "--viewers", "3", "--duration", "3s", "--settle", "500ms",
		"--bitrate", "800000", "--simulcast", "--audio", "none", "--gro")
	if r.Started != 3 || r.WithFrame != 3 || !r.Simulcast || !r.GRO || r.LatencyFrames == 0 || r.Latency.P50 <= 0 || len(r.Sent) != 3 ||
		r.LatencyAtSocket < r.LatencyFrames*9/10 {
		t.Errorf("simulcast: %+v", r)
	}
	viewers := 0
	for _, l := range r.Layers {
		switch l.Layer {
		case "q", "h", "f":
			viewers = max(viewers, l.Viewers)
			if l.Viewers > 0 && (l.ViewerBps <= 0 || l.Latency == nil) {
				t.Errorf("layer %+v", l)
			}
		case "padding":
		default:
			t.Errorf("row %+v with simulcast and no audio", l)
		}
	}
	if viewers == 0 {
		t.Errorf("no viewer received a layer: %+v", r.Layers)
	}
}
