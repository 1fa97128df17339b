package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"net/url"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"text/tabwriter"
	"time"

	"github.com/pion/logging"

	client "github.com/onair-live/onair/clients/go"
)

// benchConfig is the command line of "onairctl bench": one publisher and
// many viewers of a room, in this process.
type benchConfig struct {
	publishConfig
	Viewers     int
	Ramp        time.Duration
	Settle      time.Duration
	Simulcast   bool
	ServerPID   int
	AllowRemote bool
	CPUProfile  string
	GRO         bool
}

// maxBenchViewers bounds --viewers: each is a peer connection of this process.
const maxBenchViewers = 5000

func parseBench(args []string, stderr io.Writer) (benchConfig, error) {
	var c benchConfig
	fs := flag.NewFlagSet("onairctl bench", flag.ContinueOnError)
	c.register(fs)
	c.Room = "bench"
	fs.Lookup("room").DefValue = c.Room
	fs.StringVar(&c.Key, "key", "", "the stream key, sent as a Bearer token (a --dev server takes any key from this machine)")
	fs.StringVar(&c.Video, "video", "synthetic",
		"video: synthetic (frames carry their send time: latency is measured), or a .ivf or .h264 file; with --simulcast, synthetic or three .ivf files q,h,f")
	fs.StringVar(&c.Audio, "audio", "synthetic", "audio: synthetic, none, or an Ogg/Opus file")
	fs.IntVar(&c.FPS, "fps", 30, "frame rate of synthetic and H.264 video")
	fs.IntVar(&c.Bitrate, "bitrate", 2_000_000,
		"bit rate of synthetic video, in bit/s; with --simulcast that of the full layer f (h has 1/4 of it, q 1/16)")
	fs.IntVar(&c.Viewers, "viewers", 10, "WHEP viewers")
	fs.DurationVar(&c.Ramp, "ramp", 0, "spread the viewers' joins evenly over this time")
	fs.DurationVar(&c.Settle, "settle", 2*time.Second,
		"publish alone this long before the first viewer joins; the server's CPU meanwhile is the publisher's own cost")
	fs.BoolVar(&c.Simulcast, "simulcast", false, "publish three simulcast layers (RIDs q, h, f) instead of one")
	fs.IntVar(&c.ServerPID, "server-pid", 0,
		"read the server's CPU from /proc/PID (default: the process listening on a loopback --url's port, else the server's /metrics)")
	fs.BoolVar(&c.AllowRemote, "allow-remote", false, "allow a --url that is not on this machine (only load servers that are yours)")
	fs.BoolVar(&c.GRO, "gro", false,
		"viewers read the server's batched sends whole (UDP_GRO, Linux): on loopback the kernel charges the receiver's segmentation and wakeups to the sender, which a real network does not")
	fs.StringVar(&c.CPUProfile, "cpuprofile", "", "write this tool's own CPU profile, over the measured time, to a file")
	if err := parseFlags(fs, args, stderr); err != nil {
		return c, err
	}
	if err := c.check(fs); err != nil {
		return c, err
	}
	switch {
	case c.Viewers < 1 || c.Viewers > maxBenchViewers:
		return c, usagef("--viewers must be between 1 and %d", maxBenchViewers)
	case c.Ramp < 0:
		return c, usagef("--ramp must not be negative")
	case c.Settle < 0:
		return c, usagef("--settle must not be negative")
	case c.FPS <= 0 || c.FPS > 240:
		return c, usagef("--fps must be between 1 and 240")
	case c.Bitrate <= 0:
		return c, usagef("--bitrate must be positive")
	case c.ServerPID < 0:
		return c, usagef("--server-pid must be a process id")
	}
	if u, _ := url.Parse(c.URL); !c.AllowRemote && !isLoopbackHost(u.Hostname()) {
		return c, usagef("--url %s is not on this machine; a load test must not hit a server by accident: add --allow-remote if it is yours", c.URL)
	}
	if _, err := audioKind(c.Audio); err != nil {
		return c, err
	}
	if c.Simulcast {
		if _, err := simulcastFiles(c.Video); err != nil {
			return c, err
		}
		return c, nil
	}
	if k, err := videoKind(c.Video); err != nil || k == "none" {
		return c, usagef("--video %q: want synthetic or a .ivf or .h264 file", c.Video)
	}
	return c, nil
}

// simulcastFiles splits --video for --simulcast: nil for synthetic layers, or
// one .ivf file per layer of client.SimulcastRIDs.
func simulcastFiles(v string) ([]string, error) {
	if v == "synthetic" {
		return nil, nil
	}
	files := strings.Split(v, ",")
	if len(files) != len(client.SimulcastRIDs) {
		return nil, usagef("--simulcast --video %q: want synthetic or %d .ivf files separated by commas (%s)",
			v, len(client.SimulcastRIDs), strings.Join(client.SimulcastRIDs, ","))
	}
	for _, f := range files {
		if k, _ := videoKind(f); k != "ivf" {
			return nil, usagef("--simulcast --video: %q is not an .ivf file", f)
		}
	}
	return files, nil
}

// openBenchLayers opens the simulcast layers the flags name (the single video
// source comes from openSources).
func openBenchLayers(c benchConfig) ([]client.Layer, error) {
	files, _ := simulcastFiles(c.Video)
	if files == nil {
		return client.NewSyntheticSimulcast(c.FPS, c.Bitrate), nil
	}
	var layers []client.Layer
	for i, f := range files {
		src, err := client.OpenIVF(f)
		if err != nil {
			for _, l := range layers {
				_ = l.Source.Close()
			}
			return nil, err
		}
		layers = append(layers, client.Layer{RID: client.SimulcastRIDs[i], Source: src})
	}
	return layers, nil
}

// startPublisher goes live with the configured media and waits until the
// peer connection is up.
func startPublisher(ctx context.Context, c benchConfig) (*client.Publisher, error) {
	pc := c.publishConfig
	if c.Simulcast {
		pc.Video = "none"
	}
	video, audio, err := openSources(pc)
	if err != nil {
		return nil, err
	}
	o := client.Options{BaseURL: c.URL, Room: c.Room, Token: c.Key, LoopbackOnly: c.Loopback}
	cctx, cancel := context.WithTimeout(ctx, connectTimeout)
	defer cancel()
	var pub *client.Publisher
	if c.Simulcast {
		var layers []client.Layer
		if layers, err = openBenchLayers(c); err != nil {
			if audio != nil {
				_ = audio.Close()
			}
			return nil, err
		}
		pub, err = client.PublishSimulcast(cctx, o, layers, audio)
	} else {
		pub, err = client.Publish(cctx, o, video, audio)
	}
	if err != nil {
		return nil, fmt.Errorf("publish: %w", err)
	}
	if err := pub.WaitConnected(cctx); err != nil {
		_ = pub.Close()
		return nil, fmt.Errorf("publish: connecting: %w", err)
	}
	return pub, nil
}

// Latencies are kept in shards, so that the viewers' reading goroutines do
// not all write one histogram.
const latencyShards = 16

// latencyShardOf holds the latencies of some of the viewers: of all frames,
// and by the layer the frame's Marker names.
type latencyShardOf struct {
	all   latencyHist
	layer [maxReportLayers]latencyHist
}

// maxReportLayers is how many layers a report tells apart.
const maxReportLayers = 4

// mediaBench is one run of "onairctl bench".
type mediaBench struct {
	c         benchConfig
	o         client.Options // the viewers'
	measuring atomic.Bool    // frames count in the latencies
	atSocket  atomic.Uint64  // frames whose latency is to the kernel's receive time
	shards    [latencyShards]latencyShardOf
	viewers   []*client.Viewer
	results   []viewerResult
}

func runBench(ctx context.Context, c benchConfig, stdout, stderr io.Writer) error {
	cpu := newCPUSource(c.URL, c.ServerPID)
	pub, err := startPublisher(ctx, c)
	if err != nil {
		return err
	}
	defer pub.Close()
	pubStart := time.Now()
	fmt.Fprintf(stderr, "publishing to %s; server CPU from %s\n", pub.Location(), cpu)

	b := &mediaBench{c: c, o: client.Options{BaseURL: c.URL, Room: c.Room, LoopbackOnly: c.Loopback, UDPGRO: c.GRO, Logger: quietPion},
		viewers: make([]*client.Viewer, c.Viewers), results: make([]viewerResult, c.Viewers)}
	var u cpuUsage
	// The samples outlive an interrupt: the report covers what ran.
	sctx := context.WithoutCancel(ctx)
	u.settleStart, u.err = cpu.sample(sctx)
	sleepCtx(ctx, c.Settle)
	if u.err == nil {
		u.settleEnd, u.err = cpu.sample(sctx)
	}

	rampStart := time.Now()
	b.startViewers(ctx)
	rampTime := time.Since(rampStart)
	started := 0
	for i, r := range b.results {
		if r.Err != nil {
			fmt.Fprintf(stderr, "viewer %d: %v\n", i, r.Err)
		} else {
			started++
		}
	}
	fmt.Fprintf(stderr, "%d of %d viewers joined in %v; measuring for %v\n", started, c.Viewers, rampTime.Round(time.Millisecond), c.Duration)
	if u.err == nil {
		u.start, u.err = cpu.sample(sctx)
	}
	self := cpuSource{pid: ownPID}
	selfStart, selfErr := self.sample(sctx)
	stopProfile := func() {}
	if c.CPUProfile != "" {
		if stopProfile, err = startCPUProfile(c.CPUProfile); err != nil {
			return err
		}
	}
	b.measuring.Store(true)
	windowStart := time.Now()
	if ctx.Err() == nil {
		sleepCtx(ctx, c.Duration)
	}
	b.measuring.Store(false)
	stopProfile()
	window := time.Since(windowStart)
	if u.err == nil {
		u.end, u.err = cpu.sample(sctx)
	}
	selfEnd, selfErr2 := self.sample(sctx)

	b.stopViewers(stderr)
	sent := pub.Stats()
	sentFor := time.Since(pubStart)
	if err := pub.Close(); err != nil {
		fmt.Fprintf(stderr, "publisher: close: %v\n", err)
	}
	r := b.report(window, rampTime, sent, sentFor)
	r.Server = u.report(cpu, r.Connected)
	if selfErr == nil && selfErr2 == nil {
		r.LoadCores = cores(selfStart, selfEnd)
	}
	if err := printBench(stdout, c.JSON, r); err != nil {
		return err
	}
	if err := pub.Err(); err != nil {
		return err
	}
	if started < c.Viewers {
		return fmt.Errorf("%d of %d viewers could not start", c.Viewers-started, c.Viewers)
	}
	return nil
}

// quietPion keeps the viewers' pion quiet: as hundreds of viewers close at
// the end of a run, pion's TWCC interceptor logs an error ("read/write on
// closed pipe") for each whose ticker fires after its transport closed, a
// race inside pion's Close. What the viewers received is the report.
var quietPion = &logging.DefaultLoggerFactory{DefaultLogLevel: logging.LogLevelDisabled}

// startViewers starts the viewers, spread evenly over the ramp, and returns
// once every one has started or failed.
func (b *mediaBench) startViewers(ctx context.Context) {
	var wg sync.WaitGroup
	start := time.Now()
	for i := range b.viewers {
		at := start.Add(b.c.Ramp * time.Duration(i) / time.Duration(len(b.viewers)))
		if d := time.Until(at); d > 0 && !sleepCtx(ctx, d) {
			for j := i; j < len(b.viewers); j++ {
				b.results[j].Err = ctx.Err()
			}
			break
		}
		wg.Go(func() { b.startViewer(ctx, i) })
	}
	wg.Wait()
}

func (b *mediaBench) startViewer(ctx context.Context, i int) {
	cctx, cancel := context.WithTimeout(ctx, connectTimeout)
	defer cancel()
	v, err := client.Watch(cctx, b.o, 1)
	if err != nil {
		b.results[i].Err = err
		return
	}
	shard := &b.shards[i%latencyShards]
	v.OnFrame(func(f client.FrameInfo) {
		if !f.Marked || !b.measuring.Load() {
			return
		}
		shard.all.Record(f.Latency)
		if f.AtSocket {
			b.atSocket.Add(1)
		}
		if f.Marker.Layer < maxReportLayers {
			shard.layer[f.Marker.Layer].Record(f.Latency)
		}
	})
	b.viewers[i] = v
}

// stopViewers takes each viewer's statistics and closes it.
func (b *mediaBench) stopViewers(stderr io.Writer) {
	var wg sync.WaitGroup
	for i, v := range b.viewers {
		if v == nil {
			continue
		}
		wg.Go(func() {
			b.results[i].Stats = v.Stats()
			if err := v.Close(); err != nil {
				fmt.Fprintf(stderr, "viewer %d: close: %v\n", i, err)
			}
		})
	}
	wg.Wait()
}

// benchReport is the report of "onairctl bench".
type benchReport struct {
	URL         string  `json:"url"`
	Room        string  `json:"room"`
	Simulcast   bool    `json:"simulcast"`
	Video       string  `json:"video"`
	Audio       string  `json:"audio"`
	BitrateBps  int     `json:"bitrate_bps"` // of synthetic video (its full layer)
	FPS         int     `json:"fps"`
	Viewers     int     `json:"viewers"`
	Started     int     `json:"started"`
	Connected   int     `json:"connected"`
	WithFrame   int     `json:"with_frame"` // viewers that had a keyframe whole
	RampSeconds float64 `json:"ramp_seconds"`
	Seconds     float64 `json:"seconds"` // the measured window, every viewer in

	// TTFF is from the start of each WHEP session (before its POST) to the
	// last packet of its first keyframe received whole.
	TTFF msStats `json:"ttff_ms"`
	// Latency is from a frame's send time (its Marker) to the arrival of its
	// last packet, over the frames received whole in the measured window:
	// with GRO, its arrival at the viewer's socket (the kernel's receive
	// time), so that this process's own queue is not counted; else when the
	// viewer read it.
	GRO           bool    `json:"gro"`
	Latency       msStats `json:"latency_ms"`
	LatencyFrames uint64  `json:"latency_frames"`
	// LatencyAtSocket of them had the kernel's receive time (with GRO, where
	// the kernel gives timestamps); the others count to when they were read.
	LatencyAtSocket uint64 `json:"latency_frames_at_socket"`

	VideoLoss lossStats     `json:"video_loss"`
	AudioLoss lossStats     `json:"audio_loss"`
	Layers    []layerReport `json:"layers"` // what the viewers received, by layer, then audio
	Sent      []sentReport  `json:"sent"`   // what the publisher sent
	Server    *cpuReport    `json:"server"`
	// LoadCores is this process's CPU over the measured window: near the
	// cores it may use, the viewers, not the server, are the limit.
	LoadCores float64  `json:"load_cores"`
	Errors    []string `json:"errors,omitempty"`
}

// lossStats counts the sequence numbers missing from what the viewers received.
type lossStats struct {
	Missing  uint64  `json:"missing"`
	Expected uint64  `json:"expected"`
	Loss     float64 `json:"loss"` // missing / expected
}

func (l *lossStats) add(missing, expected uint64) {
	l.Missing += missing
	l.Expected += expected
	if l.Expected > 0 {
		l.Loss = float64(l.Missing) / float64(l.Expected)
	}
}

// layerReport is what the viewers received of one layer of the video (as the
// frames' Markers tell), or of the audio.
type layerReport struct {
	Layer   string `json:"layer"` // q, h, f; "video" for a single layer or video without Markers; "audio"
	index   int    // the Marker's layer index; -1 when there is none
	Viewers int    `json:"viewers"` // viewers that received some of it
	Frames  uint64 `json:"frames"`  // video frames received whole; audio and padding: packets
	Bytes   uint64 `json:"bytes"`
	// ViewerBps is the mean over those viewers of their bytes of the layer
	// over the time from its first packet to its last (of the track for
	// audio, padding and video without Markers); TotalBps is their sum.
	ViewerBps float64  `json:"bitrate_per_viewer_bps"`
	TotalBps  float64  `json:"bitrate_bps"`
	Latency   *msStats `json:"latency_ms,omitempty"`
}

// sentReport is what the publisher sent on a track or simulcast layer.
type sentReport struct {
	Layer      string  `json:"layer"`
	BitrateBps float64 `json:"bitrate_bps"`
	Packets    uint64  `json:"packets"`
	PLIs       uint64  `json:"plis"`
	NACKs      uint64  `json:"nacks"`
}

// report sums up the viewers' results.
func (b *mediaBench) report(window, ramp time.Duration, sent client.PublisherStats, sentFor time.Duration) benchReport {
	c := b.c
	r := benchReport{URL: c.URL, Room: c.Room, Simulcast: c.Simulcast, GRO: c.GRO, Video: c.Video, Audio: c.Audio, BitrateBps: c.Bitrate,
		FPS: c.FPS, Viewers: c.Viewers, RampSeconds: ramp.Seconds(), Seconds: window.Seconds()}
	rows := map[string]*layerReport{}
	t := tallyViewers(b.results, client.ViewerStats.FirstFrame, func(st client.ViewerStats) {
		for _, t := range st.Tracks {
			if t.Kind == "audio" {
				r.AudioLoss.add(t.Missing, t.Expected)
			} else {
				r.VideoLoss.add(t.Missing, t.Expected)
			}
			addTrackRows(rows, t)
		}
	})
	r.Started, r.Connected, r.WithFrame, r.Errors = t.started, t.connected, len(t.firsts), t.errors
	r.TTFF = durationStats(t.firsts)

	all := make([]*latencyHist, latencyShards)
	for i := range b.shards {
		all[i] = &b.shards[i].all
	}
	lat := mergeHists(all)
	r.Latency, r.LatencyFrames, r.LatencyAtSocket = lat.stats(), lat.total, min(b.atSocket.Load(), lat.total)
	for _, row := range rows {
		if row.index >= 0 && row.index < maxReportLayers {
			for i := range b.shards {
				all[i] = &b.shards[i].layer[row.index]
			}
			if h := mergeHists(all); h.total > 0 {
				s := h.stats()
				row.Latency = &s
			}
		}
		if row.Viewers > 0 {
			row.ViewerBps = row.TotalBps / float64(row.Viewers)
		}
		r.Layers = append(r.Layers, *row)
	}
	slices.SortFunc(r.Layers, func(a, b layerReport) int {
		return rowOrder(a) - rowOrder(b)
	})
	r.Sent = sentRows(sent, sentFor)
	return r
}

// rowOrder puts layers in their order, video without Markers after them,
// then the padding, then audio.
func rowOrder(r layerReport) int {
	switch {
	case r.Layer == "audio":
		return 1 << 20
	case r.Layer == "padding":
		return 1<<19 + 1
	case r.index < 0:
		return 1 << 19
	}
	return r.index
}

// addTrackRows adds one viewer's track to the rows: audio, video by layer, or
// video without Markers as a whole; padding-only packets (the server's
// probes) have a row of their own, where "frames" counts packets.
func addTrackRows(rows map[string]*layerReport, t client.TrackStats) {
	add := func(name string, index int, frames, bytes uint64, from, to time.Duration) {
		row := rows[name]
		if row == nil {
			row = &layerReport{Layer: name, index: index}
			rows[name] = row
		}
		if bytes == 0 {
			return
		}
		row.Viewers++
		row.Frames += frames
		row.Bytes += bytes
		if secs := (to - from).Seconds(); secs > 0 {
			row.TotalBps += float64(bytes) * 8 / secs
		}
	}
	switch {
	case t.Kind == "audio":
		add("audio", -1, t.Frames, t.Bytes-t.PaddingBytes, t.FirstPacket, t.LastPacket)
	case len(t.Layers) == 0:
		add("video", -1, t.Frames, t.Bytes-t.PaddingBytes, t.FirstPacket, t.LastPacket)
	default:
		for _, l := range t.Layers {
			add(layerName(l), l.Layer, l.Frames, l.Bytes, l.FirstPacket, l.LastPacket)
		}
	}
	if t.PaddingBytes > 0 {
		add("padding", -1, t.PaddingPackets, t.PaddingBytes, t.FirstPacket, t.LastPacket)
	}
}

// layerName is a layer's RID, or "video" for a single layer.
func layerName(l client.LayerStats) string {
	switch {
	case l.RID != "":
		return l.RID
	case l.Layer == 0:
		return "video"
	}
	return fmt.Sprintf("layer%d", l.Layer)
}

func sentRows(st client.PublisherStats, d time.Duration) []sentReport {
	row := func(name string, s client.SenderStats) sentReport {
		r := sentReport{Layer: name, Packets: s.Packets, PLIs: s.PLIs, NACKs: s.NACKs}
		if d > 0 {
			r.BitrateBps = float64(s.Bytes) * 8 / d.Seconds()
		}
		return r
	}
	var rows []sentReport
	for _, l := range st.Layers {
		rows = append(rows, row(l.RID, l))
	}
	if len(st.Layers) == 0 && st.Video.Kind != "" {
		rows = append(rows, row("video", st.Video))
	}
	if st.Audio.Kind != "" {
		rows = append(rows, row("audio", st.Audio))
	}
	return rows
}

// cpuUsage holds the server's CPU samples of a run: around the time the
// publisher was alone (settle), and around the measured window.
type cpuUsage struct {
	settleStart, settleEnd, start, end cpuAt
	err                                error
}

// cpuReport is the server's CPU in a run.
type cpuReport struct {
	Source string `json:"source"` // "/proc/PID" or the /metrics URL
	PID    int    `json:"pid,omitempty"`
	// InProcess: the server is this process, so its CPU includes the load's.
	InProcess bool `json:"in_process,omitempty"`
	// PublisherCores is the CPU the server used per second while the
	// publisher was alone (--settle); Cores while every viewer watched.
	PublisherCores float64 `json:"publisher_cores"`
	Cores          float64 `json:"cores"`
	// CPUMsPerViewerSecond is (Cores - PublisherCores) per connected viewer,
	// in CPU milliseconds per second; ViewersPerCore is how many viewers one
	// core would carry besides the publisher at that rate.
	CPUMsPerViewerSecond float64 `json:"cpu_ms_per_viewer_s"`
	ViewersPerCore       float64 `json:"viewers_per_core"`
	Error                string  `json:"error,omitempty"`
}

func (u cpuUsage) report(src cpuSource, viewers int) *cpuReport {
	r := &cpuReport{Source: src.String(), PID: src.pid, InProcess: src.pid > 0 && src.pid == ownPID}
	if u.err != nil {
		r.Error = u.err.Error()
		return r
	}
	r.PublisherCores = cores(u.settleStart, u.settleEnd)
	r.Cores = cores(u.start, u.end)
	if viewers > 0 {
		r.CPUMsPerViewerSecond = max(r.Cores-r.PublisherCores, 0) * 1000 / float64(viewers)
	}
	if r.CPUMsPerViewerSecond > 0 {
		r.ViewersPerCore = (1000 - 1000*r.PublisherCores) / r.CPUMsPerViewerSecond
	}
	return r
}

func printBench(w io.Writer, asJSON bool, r benchReport) error {
	if asJSON {
		return printJSON(w, r)
	}
	mode := "single layer"
	if r.Simulcast {
		mode = "simulcast q/h/f"
	}
	line := func(label, format string, a ...any) {
		fmt.Fprintf(w, "%-13s"+format+"\n", append([]any{label}, a...)...)
	}
	video := r.Video
	if video == "synthetic" {
		video = fmt.Sprintf("synthetic VP8 (%s, %d fps)", formatBitrate(float64(r.BitrateBps)), r.FPS)
	}
	line("run", "%d viewers of %s at %s: %s, video %s, audio %s", r.Viewers, r.Room, r.URL, mode, video, r.Audio)
	line("", "ramp %.1f s, then %.1f s measured", r.RampSeconds, r.Seconds)
	line("viewers", "%d started, %d connected, %d with a first frame", r.Started, r.Connected, r.WithFrame)
	if r.WithFrame > 0 {
		line("first frame", "p50 %s, p95 %s, max %s (WHEP start to a whole keyframe)", fmtMs(r.TTFF.P50), fmtMs(r.TTFF.P95), fmtMs(r.TTFF.Max))
	} else {
		line("first frame", "none")
	}
	if r.LatencyFrames > 0 {
		at := "read"
		switch {
		case r.LatencyAtSocket == r.LatencyFrames:
			at = "at the socket"
		case r.LatencyAtSocket > 0:
			at = fmt.Sprintf("at the socket for %d of them, else read", r.LatencyAtSocket)
		}
		line("latency", "p50 %s, p99 %s, max %s (send to last packet %s, %d frames)", fmtMs(r.Latency.P50), fmtMs(r.Latency.P99),
			fmtMs(r.Latency.Max), at, r.LatencyFrames)
	} else {
		line("latency", "none measured (no frame with a send time was received whole)")
	}
	line("loss", "video %.3f%% (%d of %d), audio %.3f%% (%d of %d)", 100*r.VideoLoss.Loss, r.VideoLoss.Missing,
		r.VideoLoss.Expected, 100*r.AudioLoss.Loss, r.AudioLoss.Missing, r.AudioLoss.Expected)
	var sent []string
	for _, s := range r.Sent {
		sent = append(sent, fmt.Sprintf("%s %s (PLI %d, NACK %d)", s.Layer, formatBitrate(s.BitrateBps), s.PLIs, s.NACKs))
	}
	line("sent", "%s", strings.Join(sent, ", "))

	fmt.Fprintln(w)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "received\tviewers\tframes\tper viewer\tin all\tlatency p50\tp99\t")
	for _, l := range r.Layers {
		p50, p99 := "-", "-"
		if l.Latency != nil {
			p50, p99 = fmtMs(l.Latency.P50), fmtMs(l.Latency.P99)
		}
		fmt.Fprintf(tw, "%s\t%d\t%d\t%s\t%s\t%s\t%s\t\n", l.Layer, l.Viewers, l.Frames, formatBitrate(l.ViewerBps),
			formatBitrate(l.TotalBps), p50, p99)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintln(w)
	switch s := r.Server; {
	case s == nil:
	case s.Error != "":
		line("server CPU", "unknown (%s: %s)", s.Source, s.Error)
	default:
		line("server CPU", "%.3f cores with %d viewers, %.3f with the publisher alone (%s)", s.Cores, r.Connected, s.PublisherCores, s.Source)
		line("", "%.2f CPU-ms per viewer-second, %.0f viewers per core", s.CPUMsPerViewerSecond, s.ViewersPerCore)
		if s.InProcess {
			line("", "(the server runs in this process: its CPU includes the load's)")
		}
	}
	if r.LoadCores > 0 {
		line("load CPU", "%.3f cores (publisher and viewers, this process)", r.LoadCores)
	}
	if len(r.Errors) > 0 {
		line("errors", "%d, the first: %s", len(r.Errors), r.Errors[0])
	}
	return nil
}

// fmtMs prints milliseconds with the precision they need.
func fmtMs(v float64) string {
	if v < 10 {
		return fmt.Sprintf("%.2f ms", v)
	}
	return fmt.Sprintf("%.0f ms", v)
}
