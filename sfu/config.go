package sfu

import (
	"cmp"
	"fmt"
	"time"
)

// ICEServer is a STUN or TURN server handed to clients (RFC 9725 §4.6 Link headers)
// and used by the server's own ICE agent.
type ICEServer struct {
	URLs       []string `yaml:"urls" json:"urls"`
	Username   string   `yaml:"username" json:"username,omitempty"`
	Credential string   `yaml:"credential" json:"credential,omitempty"`
}

// Config tunes the media plane. The zero value of every field means its default.
type Config struct {
	// UDPPort is the single UDP port all peers share (ICE UDP mux); -1 picks any
	// free port (tests).
	UDPPort int `yaml:"udp_port"`
	// PublicIPs are advertised as host candidates instead of local addresses (1:1 NAT).
	PublicIPs []string `yaml:"public_ips"`
	// ICEServers are STUN/TURN servers for clients and for the server's ICE agent.
	ICEServers []ICEServer `yaml:"ice_servers"`
	// LoopbackOnly keeps ICE on the loopback interface (tests, --dev on one machine).
	LoopbackOnly bool `yaml:"loopback_only"`
	// MaxPublishers caps co-hosts on one stage.
	MaxPublishers int `yaml:"max_publishers"`
	// RepublishGrace is how long a publisher's slot waits for it to come back before
	// its viewers lose it; it also delays the room's end.
	RepublishGrace time.Duration `yaml:"republish_grace"`
	// PLIThrottle is the minimum gap between keyframe requests sent upstream per track.
	PLIThrottle time.Duration `yaml:"pli_throttle"`
	// QueueLen is each subscriber track's outbound queue, in frames (an
	// audio packet is a frame): what a viewer that stalls may fall behind.
	QueueLen int `yaml:"queue_len"`
	// StartBitrate is a viewer's bandwidth estimate before its feedback
	// says more, bits per second; MaxBitrate bounds it.
	StartBitrate int `yaml:"start_bitrate"`
	MaxBitrate   int `yaml:"max_bitrate"`
	// PlayoutDelayMax is the most a viewer's browser may delay video in its
	// jitter buffer (the playout-delay extension, sent with minimum 0).
	PlayoutDelayMax time.Duration `yaml:"playout_delay_max"`
}

// DefaultConfig returns the configuration used when nothing is set.
func DefaultConfig() Config {
	return Config{
		UDPPort:         8189,
		MaxPublishers:   4,
		RepublishGrace:  10 * time.Second,
		PLIThrottle:     500 * time.Millisecond,
		QueueLen:        128,
		StartBitrate:    1_000_000,
		MaxBitrate:      20_000_000,
		PlayoutDelayMax: 500 * time.Millisecond,
	}
}

// withDefaults fills zero fields from DefaultConfig.
func (c Config) withDefaults() Config {
	d := DefaultConfig()
	c.UDPPort = cmp.Or(c.UDPPort, d.UDPPort)
	c.MaxPublishers = cmp.Or(c.MaxPublishers, d.MaxPublishers)
	c.RepublishGrace = cmp.Or(c.RepublishGrace, d.RepublishGrace)
	c.PLIThrottle = cmp.Or(c.PLIThrottle, d.PLIThrottle)
	c.QueueLen = cmp.Or(c.QueueLen, d.QueueLen)
	c.StartBitrate = cmp.Or(c.StartBitrate, d.StartBitrate)
	c.MaxBitrate = cmp.Or(c.MaxBitrate, d.MaxBitrate)
	c.PlayoutDelayMax = cmp.Or(c.PlayoutDelayMax, d.PlayoutDelayMax)
	return c
}

// Validate reports the first setting that cannot work.
func (c Config) Validate() error {
	c = c.withDefaults()
	switch {
	case c.UDPPort < -1 || c.UDPPort > 65535:
		return fmt.Errorf("sfu: udp port %d out of range", c.UDPPort)
	case c.MaxPublishers < 1 || c.MaxPublishers > 16:
		return fmt.Errorf("sfu: max publishers %d: must be 1..16", c.MaxPublishers)
	case c.RepublishGrace < 0 || c.PLIThrottle < 0:
		return fmt.Errorf("sfu: durations must not be negative")
	case c.QueueLen < 16:
		return fmt.Errorf("sfu: queue length %d: must be at least 16", c.QueueLen)
	case c.PlayoutDelayMax < 10*time.Millisecond || c.PlayoutDelayMax > 40*time.Second:
		return fmt.Errorf("sfu: playout_delay_max %v: 10ms to 40s", c.PlayoutDelayMax)
	case c.StartBitrate < minBitrate || c.MaxBitrate < c.StartBitrate:
		return fmt.Errorf("sfu: start_bitrate %d must be at least %d and max_bitrate %d at least start_bitrate", c.StartBitrate, minBitrate, c.MaxBitrate)
	}
	for _, s := range c.ICEServers {
		if len(s.URLs) == 0 {
			return fmt.Errorf("sfu: ICE server without URLs")
		}
	}
	return nil
}
