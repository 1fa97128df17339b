package hub

import "time"

// Config tunes a Hub. The zero value of every field means its default.
type Config struct {
	// BatchWindow is how long a room's batch stays open after its first
	// message: then it is sealed, encoded once and queued to every session of
	// the room. Default 50ms.
	BatchWindow time.Duration `yaml:"batch_window"`
	// MaxBatch is the most messages in one batch; a batch that reaches it is
	// sealed at once without waiting for the window. Default 64; at most QueueLen.
	MaxBatch int `yaml:"max_batch"`
	// QueueLen is how many messages a session holds, in queued batches, while
	// its sink is busy; a batch that does not fit is dropped for that session.
	// Default 256. The queue is allocated at Join: QueueLen*8 bytes per session.
	QueueLen int `yaml:"queue_len"`
	// MaxDropped is how many messages a session may drop without catching up in
	// between before it is disconnected with ErrSlowConsumer. Default 1024.
	MaxDropped int `yaml:"max_dropped"`
	// WriteTimeout bounds one WriteBatch: a write that has run longer is
	// cancelled (within WriteTimeout/4 more) and its session disconnected with
	// ErrWriteTimeout. Default 10s.
	WriteTimeout time.Duration `yaml:"write_timeout"`
}

// DefaultConfig returns the defaults that zero fields take.
func DefaultConfig() Config {
	return Config{
		BatchWindow:  50 * time.Millisecond,
		MaxBatch:     64,
		QueueLen:     256,
		MaxDropped:   1024,
		WriteTimeout: 10 * time.Second,
	}
}

// withDefaults fills zero (or negative) fields from DefaultConfig and keeps
// MaxBatch within QueueLen.
func (c Config) withDefaults() Config {
	d := DefaultConfig()
	if c.BatchWindow <= 0 {
		c.BatchWindow = d.BatchWindow
	}
	if c.MaxBatch <= 0 {
		c.MaxBatch = d.MaxBatch
	}
	if c.QueueLen <= 0 {
		c.QueueLen = d.QueueLen
	}
	if c.MaxDropped <= 0 {
		c.MaxDropped = d.MaxDropped
	}
	if c.WriteTimeout <= 0 {
		c.WriteTimeout = d.WriteTimeout
	}
	if c.MaxBatch > c.QueueLen {
		c.MaxBatch = c.QueueLen
	}
	return c
}
