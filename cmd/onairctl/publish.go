package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"path/filepath"
	"strings"
	"text/tabwriter"
	"time"

	client "github.com/onair-live/onair/clients/go"
)

// publishConfig is the command line of "onairctl publish".
type publishConfig struct {
	commonFlags
	Key     string
	Video   string // "synthetic", "none" or a .ivf / .h264 file
	Audio   string // "synthetic", "none" or a .ogg file
	FPS     int
	Bitrate int
}

func parsePublish(args []string, stderr io.Writer) (publishConfig, error) {
	var c publishConfig
	fs := flag.NewFlagSet("onairctl publish", flag.ContinueOnError)
	c.register(fs)
	fs.StringVar(&c.Key, "key", "", "the stream key, sent as a Bearer token")
	fs.StringVar(&c.Video, "video", "synthetic", "video: synthetic, none, or a file: .ivf (VP8, VP9, AV1) or .h264 (Annex-B)")
	fs.StringVar(&c.Audio, "audio", "synthetic", "audio: synthetic, none, or an Ogg/Opus file (.ogg, .opus)")
	fs.IntVar(&c.FPS, "fps", 30, "frame rate of synthetic and H.264 video")
	fs.IntVar(&c.Bitrate, "bitrate", 1_000_000, "bit rate of synthetic video, in bit/s")
	if err := parseFlags(fs, args, stderr); err != nil {
		return c, err
	}
	if err := c.check(fs); err != nil {
		return c, err
	}
	if c.FPS <= 0 || c.FPS > 240 {
		return c, usagef("--fps must be between 1 and 240")
	}
	if c.Bitrate <= 0 {
		return c, usagef("--bitrate must be positive")
	}
	if _, err := videoKind(c.Video); err != nil {
		return c, err
	}
	if _, err := audioKind(c.Audio); err != nil {
		return c, err
	}
	if c.Video == "none" && c.Audio == "none" {
		return c, usagef("--video none and --audio none leave nothing to publish")
	}
	return c, nil
}

// videoKind classifies the --video value: "synthetic", "none", "ivf" or "h264".
func videoKind(v string) (string, error) {
	switch v {
	case "synthetic", "none":
		return v, nil
	}
	switch strings.ToLower(filepath.Ext(v)) {
	case ".ivf":
		return "ivf", nil
	case ".h264", ".264":
		return "h264", nil
	}
	return "", usagef("--video %q: want synthetic, none, or a .ivf or .h264 file", v)
}

// audioKind classifies the --audio value: "synthetic", "none" or "ogg".
func audioKind(a string) (string, error) {
	switch a {
	case "synthetic", "none":
		return a, nil
	}
	switch strings.ToLower(filepath.Ext(a)) {
	case ".ogg", ".opus":
		return "ogg", nil
	}
	return "", usagef("--audio %q: want synthetic, none, or a .ogg file", a)
}

// openSources opens what the flags name; a nil Source means none.
func openSources(c publishConfig) (video, audio client.Source, err error) {
	vk, _ := videoKind(c.Video)
	switch vk {
	case "synthetic":
		video = client.NewSyntheticVP8(c.FPS, c.Bitrate)
	case "ivf":
		video, err = client.OpenIVF(c.Video)
	case "h264":
		video, err = client.OpenH264(c.Video, c.FPS)
	}
	if err != nil {
		return nil, nil, err
	}
	ak, _ := audioKind(c.Audio)
	switch ak {
	case "synthetic":
		audio = client.NewSyntheticOpus()
	case "ogg":
		audio, err = client.OpenOgg(c.Audio)
	}
	if err != nil {
		if video != nil {
			_ = video.Close()
		}
		return nil, nil, err
	}
	return video, audio, nil
}

// connectTimeout bounds the signalling exchange and ICE/DTLS set-up.
const connectTimeout = 15 * time.Second

func runPublish(ctx context.Context, c publishConfig, stdout, stderr io.Writer) error {
	video, audio, err := openSources(c)
	if err != nil {
		return err
	}
	o := client.Options{BaseURL: c.URL, Room: c.Room, Token: c.Key, LoopbackOnly: c.Loopback}
	cctx, cancel := context.WithTimeout(ctx, connectTimeout)
	defer cancel()
	start := time.Now()
	pub, err := client.Publish(cctx, o, video, audio)
	if err != nil {
		return err
	}
	if err := pub.WaitConnected(cctx); err != nil {
		_ = pub.Close()
		return fmt.Errorf("connecting: %w", err)
	}
	fmt.Fprintf(stderr, "publishing to %s (connected in %v)\n", pub.Location(), time.Since(start).Round(time.Millisecond))
	sleepCtx(ctx, c.Duration)
	st := pub.Stats()
	elapsed := time.Since(start)
	closeErr := pub.Close()
	if err := printPublish(stdout, c.JSON, st, elapsed); err != nil {
		return err
	}
	if err := pub.Err(); err != nil {
		return err
	}
	return closeErr
}

func printPublish(w io.Writer, asJSON bool, st client.PublisherStats, elapsed time.Duration) error {
	if asJSON {
		return printJSON(w, struct {
			Seconds float64 `json:"seconds"`
			client.PublisherStats
		}{elapsed.Seconds(), st})
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "track\tcodec\tsamples\tpackets\tbytes\tbitrate\tPLI\tFIR\tNACK")
	for _, s := range []client.SenderStats{st.Video, st.Audio} {
		if s.Kind == "" {
			continue
		}
		fmt.Fprintf(tw, "%s\t%s\t%d\t%d\t%d\t%s\t%d\t%d\t%d\n", s.Kind, s.Codec, s.Samples, s.Packets, s.Bytes,
			formatBitrate(float64(s.Bytes)*8/elapsed.Seconds()), s.PLIs, s.FIRs, s.NACKs)
	}
	return tw.Flush()
}

// formatBitrate prints bits per second with a unit.
func formatBitrate(bps float64) string {
	switch {
	case bps >= 1e6:
		return fmt.Sprintf("%.2f Mbit/s", bps/1e6)
	case bps >= 1e3:
		return fmt.Sprintf("%.1f kbit/s", bps/1e3)
	}
	return fmt.Sprintf("%.0f bit/s", bps)
}
