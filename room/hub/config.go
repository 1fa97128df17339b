package hub

import "time"

// Config tunes a Hub. The zero value of every field means its default.
type Config struct {
	// BatchWindow is how long a session waits, after a message arrives in its
	// empty queue, for more before it writes them as one batch. Default 50ms.
	BatchWindow time.Duration `yaml:"batch_window"`
	// MaxBatch is the most messages in one WriteBatch; a queue that reaches it is
	// written at once without waiting for the window. Default 64; at most QueueLen.
	MaxBatch int `yaml:"max_batch"`
	// QueueLen is how many messages a session holds while its sink is busy;
	// more are dropped for that session. Default 256. The queue is allocated at
	// Join: QueueLen*24 bytes per session.
	QueueLen int `yaml:"queue_len"`
	// MaxDropped is how many messages a session may drop without catching up in
	// between before it is disconnected with ErrSlowConsumer. Default 1024.
	MaxDropped int `yaml:"max_dropped"`
}

// DefaultConfig returns the defaults that zero fields take.
func DefaultConfig() Config {
	return Config{
		BatchWindow: 50 * time.Millisecond,
		MaxBatch:    64,
		QueueLen:    256,
		MaxDropped:  1024,
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
	if c.MaxBatch > c.QueueLen {
		c.MaxBatch = c.QueueLen
	}
	return c
}
