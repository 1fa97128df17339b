package egress

import (
	"cmp"
	"errors"
	"fmt"
	"time"
)

// Config tunes the egress. The zero value of every field means its default.
type Config struct {
	// HLS writes each live room as HLS, served at /hls/{room}/index.m3u8.
	// nil means on; false leaves only snapshots and restreams.
	HLS *bool `yaml:"hls"`
	// Snapshots keeps a JPEG of each live room, served at
	// /api/rooms/{room}/snapshot.jpg. nil means on. With HLS and snapshots
	// off, a room runs ffmpeg only for its restreams.
	Snapshots *bool `yaml:"snapshots"`
	// SegmentType is "fmp4" (default: fragmented MP4, EXT-X-MAP, what
	// low-latency players prefer) or "mpegts" (MPEG-TS: takes a copied H.264
	// stream's mid-stream changes of resolution without an init segment).
	SegmentType string `yaml:"segment_type"`
	// SegmentDuration is the HLS segment length and the keyframe interval of
	// transcoded video. Default 1s.
	SegmentDuration time.Duration `yaml:"segment_duration"`
	// Window is how many segments the live playlist lists. Default 6.
	Window int `yaml:"window"`
	// MaxJobs caps the ffmpeg processes of this node (room jobs plus
	// restreams). Default 8.
	MaxJobs int `yaml:"max_jobs"`
	// SnapshotInterval is how often each live room's snapshot is renewed.
	// Default 10s.
	SnapshotInterval time.Duration `yaml:"snapshot_interval"`
	// SnapshotWidth is the snapshot's width in pixels (at most the video's);
	// the height follows the picture. Default 640.
	SnapshotWidth int `yaml:"snapshot_width"`
	// RTMPAllow lists the hosts restream targets may use: names (an entry
	// ".example.com" allows its subdomains), IP addresses or CIDR prefixes.
	// Empty allows any host whose addresses are all public. Loopback, private
	// and other internal addresses are refused unless listed.
	RTMPAllow []string `yaml:"rtmp_allow"`
	// MaxTargets caps the restream targets of one room. Default 5.
	MaxTargets int `yaml:"max_targets"`
	// Width and Height are the picture of transcoded video (VP8, VP9); the
	// source is scaled to fit and padded. Default 1280x720.
	Width  int `yaml:"width"`
	Height int `yaml:"height"`
	// VideoBitrate and AudioBitrate, bits per second, of transcoded video and
	// of the AAC audio. Defaults 2500000 and 128000.
	VideoBitrate int `yaml:"video_bitrate"`
	AudioBitrate int `yaml:"audio_bitrate"`
	// RestartMin and RestartMax bound the pause before ffmpeg is started
	// again after it died; it doubles from min to max. Defaults 1s and 30s.
	RestartMin time.Duration `yaml:"restart_min"`
	RestartMax time.Duration `yaml:"restart_max"`
	// StallTimeout restarts an ffmpeg whose output has not grown for this
	// long. Default 20s.
	StallTimeout time.Duration `yaml:"stall_timeout"`
	// Record records every broadcast for replay unless its streamer turned
	// recording off for their room (a streamer may also turn it on when
	// this is false). Default false.
	Record bool `yaml:"record"`
	// RecordingRetention is how long recordings are kept; older ones are
	// deleted, files and records. Default 720h (30 days).
	RecordingRetention time.Duration `yaml:"recording_retention"`
	// CoHosts is how many of a room's co-hosts HLS, restreams, recordings and
	// snapshots show, side by side (two) or in a 2×2 grid (three or four),
	// each in a tile of half of Width×Height. 1 shows the first co-host
	// alone. Default 4.
	CoHosts int `yaml:"cohosts"`
}

// DefaultConfig is what a node runs with when told nothing.
func DefaultConfig() Config {
	hls, snapshots := true, true
	return Config{
		HLS:              &hls,
		Snapshots:        &snapshots,
		SegmentType:      "fmp4",
		SegmentDuration:  time.Second,
		Window:           6,
		MaxJobs:          8,
		SnapshotInterval: 10 * time.Second,
		SnapshotWidth:    640,
		MaxTargets:       5,
		Width:            1280,
		Height:           720,
		VideoBitrate:     2_500_000,
		AudioBitrate:     128_000,
		RestartMin:       time.Second,
		RestartMax:       30 * time.Second,
		StallTimeout:     20 * time.Second,

		RecordingRetention: 30 * 24 * time.Hour,
		CoHosts:            4,
	}
}

func (c Config) withDefaults() Config {
	d := DefaultConfig()
	if c.HLS == nil {
		c.HLS = d.HLS
	}
	if c.Snapshots == nil {
		c.Snapshots = d.Snapshots
	}
	c.SegmentType = cmp.Or(c.SegmentType, d.SegmentType)
	c.SegmentDuration = cmp.Or(c.SegmentDuration, d.SegmentDuration)
	c.Window = cmp.Or(c.Window, d.Window)
	c.MaxJobs = cmp.Or(c.MaxJobs, d.MaxJobs)
	c.SnapshotInterval = cmp.Or(c.SnapshotInterval, d.SnapshotInterval)
	c.SnapshotWidth = cmp.Or(c.SnapshotWidth, d.SnapshotWidth)
	c.MaxTargets = cmp.Or(c.MaxTargets, d.MaxTargets)
	c.Width = cmp.Or(c.Width, d.Width)
	c.Height = cmp.Or(c.Height, d.Height)
	c.VideoBitrate = cmp.Or(c.VideoBitrate, d.VideoBitrate)
	c.AudioBitrate = cmp.Or(c.AudioBitrate, d.AudioBitrate)
	c.RestartMin = cmp.Or(c.RestartMin, d.RestartMin)
	c.RestartMax = cmp.Or(c.RestartMax, d.RestartMax)
	c.StallTimeout = cmp.Or(c.StallTimeout, d.StallTimeout)
	c.RecordingRetention = cmp.Or(c.RecordingRetention, d.RecordingRetention)
	c.CoHosts = cmp.Or(c.CoHosts, d.CoHosts)
	return c
}

// hls and snapshots report whether those outputs are on.
func (c Config) hls() bool       { return c.HLS == nil || *c.HLS }
func (c Config) snapshots() bool { return c.Snapshots == nil || *c.Snapshots }

// Validate reports the first setting that cannot work.
func (c Config) Validate() error {
	c = c.withDefaults()
	switch {
	case c.SegmentType != "fmp4" && c.SegmentType != "mpegts":
		return fmt.Errorf("egress.segment_type %q: fmp4 or mpegts", c.SegmentType)
	case c.SegmentDuration < 500*time.Millisecond || c.SegmentDuration > 10*time.Second:
		return errors.New("egress.segment_duration: 500ms to 10s")
	case c.Window < 2 || c.Window > 60:
		return errors.New("egress.window: 2 to 60 segments")
	case c.MaxJobs < 1 || c.MaxJobs > 1024:
		return errors.New("egress.max_jobs: 1 to 1024")
	case c.SnapshotInterval < time.Second || c.SnapshotInterval > time.Hour:
		return errors.New("egress.snapshot_interval: 1s to 1h")
	case c.SnapshotWidth < 64 || c.SnapshotWidth > 3840 || c.SnapshotWidth%2 != 0:
		return errors.New("egress.snapshot_width: an even number of pixels, 64 to 3840")
	case c.MaxTargets < 1 || c.MaxTargets > 50:
		return errors.New("egress.max_targets: 1 to 50")
	case c.Width < 160 || c.Width > 3840 || c.Height < 90 || c.Height > 2160 || c.Width%2 != 0 || c.Height%2 != 0:
		return errors.New("egress.width and egress.height: even numbers of pixels, 160x90 to 3840x2160")
	case c.VideoBitrate < 100_000 || c.VideoBitrate > 50_000_000:
		return errors.New("egress.video_bitrate: 100000 to 50000000 bits per second")
	case c.AudioBitrate < 32_000 || c.AudioBitrate > 512_000:
		return errors.New("egress.audio_bitrate: 32000 to 512000 bits per second")
	case c.RestartMin < 100*time.Millisecond || c.RestartMax < c.RestartMin:
		return errors.New("egress.restart_min: at least 100ms, and restart_max at least restart_min")
	case c.StallTimeout < 5*time.Second:
		return errors.New("egress.stall_timeout: at least 5s")
	case c.RecordingRetention < time.Hour:
		return errors.New("egress.recording_retention: at least 1h")
	case c.CoHosts < 1 || c.CoHosts > 4:
		return errors.New("egress.cohosts: 1 to 4")
	}
	if _, err := parseAllowList(c.RTMPAllow); err != nil {
		return fmt.Errorf("egress.rtmp_allow: %w", err)
	}
	return nil
}
