package ffmpeg

import (
	"cmp"
	"errors"
	"fmt"
	"os/exec"
)

// Config names the executables. Zero values mean the defaults.
type Config struct {
	// FFmpegPath is the ffmpeg executable: a path, or a name looked up in
	// PATH. Default "ffmpeg".
	FFmpegPath string `yaml:"ffmpeg_path"`
	// FFprobePath is the ffprobe executable, likewise. Default "ffprobe".
	FFprobePath string `yaml:"ffprobe_path"`
}

// DefaultConfig looks both tools up in PATH.
func DefaultConfig() Config { return Config{FFmpegPath: "ffmpeg", FFprobePath: "ffprobe"} }

func (c Config) withDefaults() Config {
	d := DefaultConfig()
	c.FFmpegPath = cmp.Or(c.FFmpegPath, d.FFmpegPath)
	c.FFprobePath = cmp.Or(c.FFprobePath, d.FFprobePath)
	return c
}

// ErrNotFound: an executable is not where the configuration says, nor in PATH.
var ErrNotFound = errors.New("ffmpeg: not found")

// Tools are the ffmpeg and ffprobe executables jobs run, as absolute paths.
type Tools struct {
	FFmpeg  string
	FFprobe string
}

// Find resolves the configured executables. An error wraps ErrNotFound and
// says how to install them.
func Find(cfg Config) (Tools, error) {
	cfg = cfg.withDefaults()
	var t Tools
	for _, x := range []struct {
		name string
		dst  *string
		key  string
	}{
		{cfg.FFmpegPath, &t.FFmpeg, "ffmpeg_path"},
		{cfg.FFprobePath, &t.FFprobe, "ffprobe_path"},
	} {
		p, err := exec.LookPath(x.name)
		if err != nil {
			return Tools{}, fmt.Errorf("%w: %q (%v): install ffmpeg (Debian: apt-get install ffmpeg) or set media.%s", ErrNotFound, x.name, err, x.key)
		}
		*x.dst = p
	}
	return t, nil
}
