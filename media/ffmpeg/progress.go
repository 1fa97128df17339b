package ffmpeg

import (
	"bytes"
	"io"
	"strconv"
	"strings"
	"sync"
	"time"
)

// ProgressArgs make ffmpeg write its progress as key=value blocks to stdout
// every period (instead of the status line on stderr); read them with
// [ProgressWriter] as the Cmd's Stdout.
func ProgressArgs(period time.Duration) []string {
	return []string{"-nostats", "-progress", "pipe:1", "-stats_period", strconv.FormatFloat(period.Seconds(), 'f', -1, 64)}
}

// Progress is one block of ffmpeg's -progress output: how far the run got.
type Progress struct {
	Frame   int64         // video frames written (of the first video output)
	FPS     float64       // frames per second lately
	OutTime time.Duration // how much of the output is written, in stream time
	Size    int64         // bytes written (of the first output)
	Speed   float64       // output time per wall-clock time; 1 is real time
	End     bool          // the last block: ffmpeg is finishing
}

// progressWriter splits -progress output into blocks; each ends with a
// "progress=continue" or "progress=end" line.
type progressWriter struct {
	mu   sync.Mutex
	line []byte
	cur  Progress
	fn   func(Progress)
}

// ProgressWriter parses ffmpeg's -progress output as it is written and calls
// fn at the end of each block, on the writing goroutine: keep fn short.
func ProgressWriter(fn func(Progress)) io.Writer { return &progressWriter{fn: fn} }

func (w *progressWriter) Write(b []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	n := len(b)
	for len(b) > 0 {
		i := bytes.IndexByte(b, '\n')
		if i < 0 {
			if len(w.line)+len(b) <= 256 { // a line without end is cut, not grown forever
				w.line = append(w.line, b...)
			}
			break
		}
		w.line = append(w.line, b[:i]...)
		w.field(strings.TrimSpace(string(w.line)))
		w.line = w.line[:0]
		b = b[i+1:]
	}
	return n, nil
}

func (w *progressWriter) field(l string) {
	k, v, ok := strings.Cut(l, "=")
	if !ok {
		return
	}
	v = strings.TrimSpace(v)
	switch k {
	case "frame":
		w.cur.Frame, _ = strconv.ParseInt(v, 10, 64)
	case "fps":
		w.cur.FPS, _ = strconv.ParseFloat(v, 64)
	case "out_time_us":
		if us, err := strconv.ParseInt(v, 10, 64); err == nil && us >= 0 {
			w.cur.OutTime = time.Duration(us) * time.Microsecond
		}
	case "total_size":
		w.cur.Size, _ = strconv.ParseInt(v, 10, 64)
	case "speed":
		w.cur.Speed, _ = strconv.ParseFloat(strings.TrimSuffix(v, "x"), 64)
	case "progress":
		w.cur.End = v == "end"
		if w.fn != nil {
			w.fn(w.cur)
		}
		w.cur = Progress{}
	}
}
