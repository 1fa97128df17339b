package egress

import (
	"fmt"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/onair-live/onair/media/ffmpeg"
)

// Joining parts whose pictures differ.
//
// A broadcast's parts usually share their encoding and join by copying. They
// do not when the picture changed between runs: a co-host joined or left
// (the layout's size changes), or a copied H.264 publisher came back at
// another resolution. One MP4 track has one sample description, so such
// parts are encoded once more, into the largest picture among them, each
// letterboxed: slower than a copy, but a replay that plays throughout.

// part is one recorded part as ffprobe reads it.
type part struct {
	name          string // its name in the recording's folder
	codec         string
	width, height int
	audio         bool
	duration      time.Duration
}

func partOf(path string, info ffmpeg.Info) part {
	p := part{name: filepath.Base(path), duration: info.Duration}
	for _, s := range info.Streams {
		switch {
		case s.Type == "video" && p.codec == "":
			p.codec, p.width, p.height = s.Codec, s.Width, s.Height
		case s.Type == "audio":
			p.audio = true
		}
	}
	return p
}

// copyable reports whether ps can be joined without encoding: one codec,
// one picture size, and sound in all or none.
func copyable(ps []part) bool {
	for _, p := range ps[1:] {
		if p.codec != ps[0].codec || p.width != ps[0].width || p.height != ps[0].height || p.audio != ps[0].audio {
			return false
		}
	}
	return true
}

// joinFPS is the frame rate of a re-encoded join.
const joinFPS = 30

// JoinArgs are ffmpeg's arguments to join the parts ps of the recording in
// dir into out by encoding them again: each picture scaled into the largest
// one among them and letterboxed, silence where a part has no sound, H.264
// (x264 veryfast, CRF 23) and AAC, the index in front.
func JoinArgs(dir string, ps []part, out string) []string {
	w, h := 0, 0
	for _, p := range ps {
		w, h = max(w, p.width), max(h, p.height)
	}
	w, h = w+w%2, h+h%2
	args := []string{"-hide_banner", "-nostdin", "-y", "-loglevel", "error", "-protocol_whitelist", "file"}
	var graph []string
	var pairs strings.Builder
	for i, p := range ps {
		args = append(args, "-i", "file:"+filepath.Join(dir, p.name))
		graph = append(graph, fmt.Sprintf("[%d:v:0]scale=%d:%d:force_original_aspect_ratio=decrease,pad=%d:%d:(ow-iw)/2:(oh-ih)/2,setsar=1,fps=%d,format=yuv420p[v%d]",
			i, w, h, w, h, joinFPS, i))
		if p.audio {
			graph = append(graph, fmt.Sprintf("[%d:a:0]aresample=48000,aformat=channel_layouts=stereo[a%d]", i, i))
		} else {
			graph = append(graph, fmt.Sprintf("anullsrc=r=48000:cl=stereo,atrim=duration=%s[a%d]", strconv.FormatFloat(p.duration.Seconds(), 'f', 3, 64), i))
		}
		fmt.Fprintf(&pairs, "[v%d][a%d]", i, i)
	}
	graph = append(graph, fmt.Sprintf("%sconcat=n=%d:v=1:a=1[v][a]", pairs.String(), len(ps)))
	return append(args, "-filter_complex", strings.Join(graph, ";"), "-map", "[v]", "-map", "[a]",
		"-c:v", "libx264", "-preset", "veryfast", "-crf", "23", "-c:a", "aac", "-b:a", "128000",
		"-movflags", "+faststart", "-f", "mp4", "file:"+out)
}
