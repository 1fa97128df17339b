package voice

import (
	"cmp"
	"errors"
	"runtime"
	"time"
)

// Config limits voice messages. Zero values mean the defaults.
type Config struct {
	// MaxBytes is the largest upload accepted. Default 1 MiB.
	MaxBytes int64 `yaml:"max_bytes"`
	// MaxDuration is the longest clip accepted. Default 60 s.
	MaxDuration time.Duration `yaml:"max_duration"`
	// Bitrate of the stored Opus, bits per second. Default 24000 (speech).
	Bitrate int `yaml:"bitrate"`
	// Concurrency is how many transcodes run at once. Default: one per CPU.
	Concurrency int `yaml:"concurrency"`
	// Queue is how many uploads may wait for a transcode; more are refused
	// with "busy, try again". Default 16.
	Queue int `yaml:"queue"`
	// Timeout bounds the work on one upload (probe, transcode, probe).
	// Default 30 s.
	Timeout time.Duration `yaml:"timeout"`
}

// DefaultConfig is what a node runs with when told nothing.
func DefaultConfig() Config {
	return Config{
		MaxBytes:    1 << 20,
		MaxDuration: 60 * time.Second,
		Bitrate:     24000,
		Concurrency: runtime.NumCPU(),
		Queue:       16,
		Timeout:     30 * time.Second,
	}
}

func (c Config) withDefaults() Config {
	d := DefaultConfig()
	c.MaxBytes = cmp.Or(c.MaxBytes, d.MaxBytes)
	c.MaxDuration = cmp.Or(c.MaxDuration, d.MaxDuration)
	c.Bitrate = cmp.Or(c.Bitrate, d.Bitrate)
	c.Concurrency = cmp.Or(c.Concurrency, d.Concurrency)
	c.Queue = cmp.Or(c.Queue, d.Queue)
	c.Timeout = cmp.Or(c.Timeout, d.Timeout)
	return c
}

// Validate reports the first setting that cannot work.
func (c Config) Validate() error {
	c = c.withDefaults()
	switch {
	case c.MaxBytes < 1<<10 || c.MaxBytes > 64<<20:
		return errors.New("voice.max_bytes: 1 KiB to 64 MiB")
	case c.MaxDuration < time.Second || c.MaxDuration > 10*time.Minute:
		return errors.New("voice.max_duration: 1s to 10m")
	case c.Bitrate < 6000 || c.Bitrate > 256000:
		return errors.New("voice.bitrate: 6000 to 256000 bits per second (libopus)")
	case c.Concurrency < 1 || c.Queue < 1:
		return errors.New("voice.concurrency and voice.queue: at least 1")
	case c.Timeout < time.Second:
		return errors.New("voice.timeout: at least 1s")
	}
	return nil
}
