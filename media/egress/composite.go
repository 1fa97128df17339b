package egress

import (
	"fmt"
	"strings"

	"github.com/onair-live/onair/sfu"
)

// Co-hosts side by side.
//
// A tap sends every co-host's tracks (up to Config.CoHosts), each on its own
// ports, so ffmpeg reads them as separate streams of one SDP input: 0:v:i is
// the i-th co-host that sends video, 0:a:j the j-th that sends audio. With
// one picture the room job is what it always was (H.264 copied). With more,
// one filter graph lays the pictures out and mixes the voices, and the
// result feeds HLS, the recording and the snapshot alike; a restream lays
// them out the same way. Each picture is scaled into a tile of half the
// configured width and height, letterboxed to keep its shape: two co-hosts
// side by side make a picture twice as wide as a tile, three or four a 2×2
// grid (a missing fourth is black). The grid changes only when ffmpeg starts
// again, which the job does when the tap says the stage changed.

// compositeFPS is the frame rate of a laid-out picture: the stack filters
// emit a frame whenever any co-host's picture changes, which, unbounded,
// doubles the encoder's work for two unsynchronised 30 fps cameras.
const compositeFPS = 30

// Input is what a job's ffmpeg reads from its tap.
type Input struct {
	Codec  string // the room's video codec, an rtpmap name: "VP8", "H264"
	Videos int    // video tracks: one per co-host that sends video
	Audios int    // audio tracks: one per co-host that sends audio
}

// Single is the input of a room with one co-host sending video and audio.
func Single(codec string) Input { return Input{Codec: codec, Videos: 1, Audios: 1} }

// inputOf describes the tracks a tap sends.
func inputOf(tracks []sfu.TapTrack) Input {
	var in Input
	for _, t := range tracks {
		switch t.Kind {
		case "video":
			in.Videos++
			in.Codec = t.Codec()
		case "audio":
			in.Audios++
		}
	}
	return in
}

// grid is the layout of n pictures: columns and rows of tiles.
func grid(n int) (cols, rows int) {
	if n <= 1 {
		return 1, 1
	}
	return 2, (n + 1) / 2
}

// tile is the size of one co-host's picture in a composite: half the
// configured picture each way, even for 4:2:0.
func (c Config) tile() (w, h int) { return c.Width / 2 &^ 1, c.Height / 2 &^ 1 }

// CompositeSize is the picture size of a composite of n co-hosts' pictures.
func (c Config) CompositeSize(n int) (w, h int) {
	c = c.withDefaults()
	if n <= 1 {
		return c.Width, c.Height
	}
	tw, th := c.tile()
	cols, rows := grid(n)
	return cols * tw, rows * th
}

// stack is the filter that lays out n tiles: hstack for a row of two,
// xstack for the grid.
func stack(n int) string {
	if n == 2 {
		return "hstack=inputs=2"
	}
	pos := []string{"0_0", "w0_0", "0_h0", "w0_h0"}[:n]
	return fmt.Sprintf("xstack=inputs=%d:layout=%s:fill=black", n, strings.Join(pos, "|"))
}

// graph is the filter graph that composes in: [v] (the layout) and [a]
// (the voices mixed) for the main output when main, [snap] (the snapshot's
// frames) when snapshot. It is empty when nothing needs composing.
func (c Config) graph(in Input, main, snapshot bool) string {
	var parts []string
	if in.Videos > 1 && (main || snapshot) {
		tw, th := c.tile()
		var tiles string
		for i := range in.Videos {
			parts = append(parts, fmt.Sprintf("[0:v:%d]scale=%d:%d:force_original_aspect_ratio=decrease,pad=%d:%d:(ow-iw)/2:(oh-ih)/2,setsar=1,format=yuv420p[t%d]", i, tw, th, tw, th, i))
			tiles += fmt.Sprintf("[t%d]", i)
		}
		out := "[v]"
		switch {
		case main && snapshot:
			out = "[grid]"
		case snapshot:
			out = "[s]"
		}
		parts = append(parts, tiles+stack(in.Videos)+fmt.Sprintf(",fps=%d", compositeFPS)+out)
		switch {
		case main && snapshot:
			parts = append(parts, "[grid]split=2[v][s]", "[s]"+c.snapshotFilter()+"[snap]")
		case snapshot:
			parts = append(parts, "[s]"+c.snapshotFilter()+"[snap]")
		}
	}
	if in.Audios > 1 && main {
		var voices string
		for i := range in.Audios {
			voices += fmt.Sprintf("[0:a:%d]", i)
		}
		// normalize=0: each voice at its own level, as viewers hear them over WebRTC.
		parts = append(parts, fmt.Sprintf("%samix=inputs=%d:duration=longest:dropout_transition=0:normalize=0[a]", voices, in.Audios))
	}
	return strings.Join(parts, ";")
}
