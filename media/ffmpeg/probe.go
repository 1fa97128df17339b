package ffmpeg

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strconv"
	"time"
)

// maxProbeOutput bounds ffprobe's JSON: a crafted file with a great many
// streams gets an error, not a great deal of memory.
const maxProbeOutput = 1 << 20

// Info is ffprobe's view of a file.
type Info struct {
	Format   string        // format_name, e.g. "ogg", "amr", "matroska,webm"
	Duration time.Duration // 0 when ffprobe cannot tell (a live WebM, a truncated file)
	Size     int64         // bytes
	BitRate  int64         // bits per second; 0 when unknown
	Streams  []Stream
}

// Stream is one stream of a file.
type Stream struct {
	Index      int
	Type       string // codec_type: audio, video, subtitle, data
	Codec      string // codec_name, e.g. "opus", "amr_nb", "vp8"
	SampleRate int    // audio: samples per second
	Channels   int    // audio
	Width      int    // video
	Height     int    // video
	Duration   time.Duration
}

// Audio returns the first audio stream.
func (i Info) Audio() (Stream, bool) {
	for _, s := range i.Streams {
		if s.Type == "audio" {
			return s, true
		}
	}
	return Stream{}, false
}

// ProbeArgs are ffprobe's arguments to describe the local file at path as
// JSON. format, when not empty, names the demuxer (ffmpeg's -f) instead of
// letting ffprobe guess from the content. Only the file protocol is allowed.
func ProbeArgs(path, format string) []string {
	args := []string{"-hide_banner", "-v", "error", "-protocol_whitelist", "file"}
	if format != "" {
		args = append(args, "-f", format)
	}
	return append(args, "-print_format", "json", "-show_format", "-show_streams", "-i", "file:"+path)
}

// Probe describes the local file at path.
func (t Tools) Probe(ctx context.Context, path string) (Info, error) {
	return t.ProbeAs(ctx, path, "")
}

// ProbeAs describes the local file at path read with the demuxer format.
func (t Tools) ProbeAs(ctx context.Context, path, format string) (Info, error) {
	out := &limitedBuffer{max: maxProbeOutput}
	if err := Run(ctx, Cmd{Path: t.FFprobe, Args: ProbeArgs(path, format), Stdout: out}); err != nil {
		return Info{}, err
	}
	if out.over {
		return Info{}, fmt.Errorf("ffprobe: more than %d bytes of output", maxProbeOutput)
	}
	return parseProbe(out.b)
}

// probeJSON is the part of ffprobe's -print_format json output Info needs.
// ffprobe writes most numbers as strings, and "N/A" where it has none.
type probeJSON struct {
	Format struct {
		FormatName string `json:"format_name"`
		Duration   string `json:"duration"`
		Size       string `json:"size"`
		BitRate    string `json:"bit_rate"`
	} `json:"format"`
	Streams []struct {
		Index      int    `json:"index"`
		CodecType  string `json:"codec_type"`
		CodecName  string `json:"codec_name"`
		SampleRate string `json:"sample_rate"`
		Channels   int    `json:"channels"`
		Width      int    `json:"width"`
		Height     int    `json:"height"`
		Duration   string `json:"duration"`
	} `json:"streams"`
}

func parseProbe(b []byte) (Info, error) {
	var p probeJSON
	if err := json.Unmarshal(b, &p); err != nil {
		return Info{}, fmt.Errorf("ffprobe output: %w", err)
	}
	if p.Format.FormatName == "" {
		return Info{}, errors.New("ffprobe output: no format")
	}
	info := Info{Format: p.Format.FormatName, Duration: seconds(p.Format.Duration),
		Size: integer(p.Format.Size), BitRate: integer(p.Format.BitRate)}
	for _, s := range p.Streams {
		info.Streams = append(info.Streams, Stream{Index: s.Index, Type: s.CodecType, Codec: s.CodecName,
			SampleRate: int(integer(s.SampleRate)), Channels: s.Channels, Width: s.Width, Height: s.Height, Duration: seconds(s.Duration)})
	}
	return info, nil
}

// seconds reads ffprobe's "12.345000"; "N/A", "" and nonsense are 0.
func seconds(s string) time.Duration {
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || f <= 0 || math.IsInf(f, 0) || math.IsNaN(f) || f > math.MaxInt64/float64(time.Second) {
		return 0
	}
	return time.Duration(math.Round(f * float64(time.Second)))
}

func integer(s string) int64 {
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n < 0 {
		return 0
	}
	return n
}

// limitedBuffer keeps up to max bytes and notes whether there were more.
type limitedBuffer struct {
	b    []byte
	max  int
	over bool
}

func (l *limitedBuffer) Write(p []byte) (int, error) {
	if room := l.max - len(l.b); len(p) > room {
		l.b = append(l.b, p[:max(room, 0)]...)
		l.over = true
		return len(p), nil
	}
	l.b = append(l.b, p...)
	return len(p), nil
}
