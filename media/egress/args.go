package egress

import (
	"errors"
	"fmt"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/onair-live/onair/media/ffmpeg"
)

// File names in a broadcast's folder.
const (
	playlistName = "index.m3u8"
	snapshotName = "snapshot.jpg"
)

// videoCopy tells whether the room's video codec (an rtpmap name: "VP8",
// "H264") goes out as it is (H.264) or is transcoded (VP8, VP9); AV1 cannot
// be read from RTP by ffmpeg 5.1.
func videoCopy(codec string) (bool, error) {
	switch strings.ToUpper(codec) {
	case "H264":
		return true, nil
	case "VP8", "VP9":
		return false, nil
	}
	return false, fmt.Errorf("%w: ffmpeg cannot read %s over RTP; publish H.264, VP8 or VP9 for HLS, snapshots and restreams", ErrCodec, codec)
}

// inputArgs read a tap: its SDP arrives on stdin, its RTP on loopback UDP;
// progress goes to stdout every second, errors to stderr. With keyOnly the
// video decoder (which only the snapshot uses when video is copied)
// decodes keyframes alone: a fraction of the work, and a copying job asks
// for a keyframe every segment anyway.
func inputArgs(keyOnly bool) []string {
	// -y: a restart writes over the snapshot the last run left.
	args := []string{"-hide_banner", "-nostdin", "-y", "-loglevel", "error"}
	args = append(args, ffmpeg.ProgressArgs(time.Second)...)
	args = append(args, "-protocol_whitelist", "pipe,udp,rtp", "-analyzeduration", "2000000")
	if keyOnly {
		args = append(args, "-skip_frame:v", "nokey")
	}
	return append(args, "-f", "sdp", "-i", "pipe:0")
}

func seconds(d time.Duration) string { return strconv.FormatFloat(d.Seconds(), 'f', -1, 64) }

// copyVideo tells whether in's video goes out as it is: one H.264 picture.
// Several pictures are laid out, which means encoding; AV1 cannot be read.
func copyVideo(in Input) (bool, error) {
	if in.Videos == 0 {
		return false, nil
	}
	cp, err := videoCopy(in.Codec)
	return cp && in.Videos == 1, err
}

// errNoOutput: the room sends nothing the job's outputs take, such as an
// audio-only room when only snapshots are on. It lasts until the stage
// changes.
var errNoOutput = errors.New("egress: nothing to make of this room: it sends no video")

// x264Args encode H.264 with low-latency settings and a keyframe every
// segment.
func (c Config) x264Args() []string {
	br := strconv.Itoa(c.VideoBitrate)
	return []string{
		"-c:v", "libx264", "-preset", "veryfast", "-tune", "zerolatency",
		"-b:v", br, "-maxrate", br, "-bufsize", strconv.Itoa(2 * c.VideoBitrate),
		"-force_key_frames", "expr:gte(t,n_forced*" + seconds(c.SegmentDuration) + ")", "-sc_threshold", "0",
	}
}

// videoArgs encode one picture for an H.264 output: copied when it is H.264
// already; otherwise x264, scaled to fit the configured picture (WebRTC
// senders change their resolution as bandwidth allows; the output must not).
func (c Config) videoArgs(copyVideo bool) []string {
	if copyVideo {
		return []string{"-c:v", "copy"}
	}
	w, h := c.Width, c.Height
	return append([]string{"-vf", fmt.Sprintf("scale=%d:%d:force_original_aspect_ratio=decrease,pad=%d:%d:(ow-iw)/2:(oh-ih)/2,format=yuv420p", w, h, w, h)},
		c.x264Args()...)
}

// audioArgs encode Opus to stereo AAC at rate samples per second.
func (c Config) audioArgs(rate int) []string {
	return []string{"-c:a", "aac", "-b:a", strconv.Itoa(c.AudioBitrate), "-ar", strconv.Itoa(rate), "-ac", "2"}
}

// encodeArgs map and encode in's picture (the layout when there are
// several: the graph's [v]) and voices (mixed: [a]) for an H.264/AAC
// output with audio at rate.
func (c Config) encodeArgs(in Input, copyVideo bool, rate int) []string {
	var maps, codecs []string
	switch {
	case in.Videos == 1:
		maps = append(maps, "-map", "0:v:0")
		codecs = append(codecs, c.videoArgs(copyVideo)...)
	case in.Videos > 1:
		maps = append(maps, "-map", "[v]")
		codecs = append(codecs, c.x264Args()...)
	}
	switch {
	case in.Audios == 1:
		maps = append(maps, "-map", "0:a:0")
	case in.Audios > 1:
		maps = append(maps, "-map", "[a]")
	}
	if in.Audios > 0 {
		codecs = append(codecs, c.audioArgs(rate)...)
	}
	return append(maps, codecs...)
}

// snapshotFilter picks the snapshot's frames and scales them. ffmpeg 5.1
// writes a frame only when the next one reaches the encoder, so it picks
// frames in pairs: the first of the room and the one after it, then two
// every interval.
func (c Config) snapshotFilter() string {
	return fmt.Sprintf("select='isnan(prev_selected_t)+gte(t-prev_selected_t,%s)+mod(selected_n,2)',scale=w='min(%d,iw)':h=-2",
		seconds(c.SnapshotInterval), c.SnapshotWidth)
}

// RoomArgs are ffmpeg's arguments for a room job's run number run: HLS and
// the snapshot (each when on), into the broadcast's folder dir, from what
// the tap sends (in).
//
// HLS is fMP4 (CMAF-style segments; EXT-X-VERSION 7), or MPEG-TS, with segments of
// SegmentDuration, Window of them in the playlist and older ones deleted;
// ffmpeg writes each file under a temporary name and renames it when
// complete, and leaves the playlist open (no EXT-X-ENDLIST) when it stops,
// since a restart continues the broadcast. The snapshot is one JPEG,
// replaced atomically every SnapshotInterval (the first as soon as a picture
// is decoded), at most SnapshotWidth wide. Several co-hosts are laid out
// side by side (composite.go).
func RoomArgs(c Config, in Input, dir string, run int64) ([]string, error) {
	return roomArgs(c, in, dir, "", run)
}

// roomArgs are RoomArgs that, when recDir is not empty, also record the
// room (see RecordingRoomArgs).
func roomArgs(c Config, in Input, dir, recDir string, run int64) ([]string, error) {
	c = c.withDefaults()
	copyVideo, err := copyVideo(in)
	if err != nil {
		return nil, err
	}
	main := (c.hls() || recDir != "") && in.Videos+in.Audios > 0
	snapshot := c.snapshots() && in.Videos > 0
	if !main && !snapshot {
		return nil, errNoOutput
	}
	// Copied video is decoded for the snapshot alone.
	args := inputArgs(copyVideo && snapshot)
	if recDir != "" {
		args = endOnSilence(args)
	}
	if g := c.graph(in, main, snapshot); g != "" {
		args = append(args, "-filter_complex", g)
	}
	if main {
		args = append(args, c.encodeArgs(in, copyVideo, 48000)...)
	}
	switch {
	case !main:
	case c.hls() && recDir != "":
		tee, err := recordTee(c.hlsOptions(dir, run), filepath.Join(dir, playlistName), recDir, run)
		if err != nil {
			return nil, err
		}
		args = append(args, tee...)
	case c.hls():
		args = append(args, "-f", "hls")
		for _, o := range c.hlsOptions(dir, run) {
			args = append(args, "-"+o[0], o[1])
		}
		args = append(args, filepath.Join(dir, playlistName))
	default:
		args = append(args, recordOutput(recDir, run)...)
	}
	if !snapshot {
		return args, nil
	}
	if in.Videos > 1 {
		args = append(args, "-map", "[snap]")
	} else {
		args = append(args, "-map", "0:v:0", "-vf", c.snapshotFilter())
	}
	return append(args, "-fps_mode", "vfr", "-c:v", "mjpeg", "-q:v", "5",
		"-f", "image2", "-update", "1", "-atomic_writing", "1", filepath.Join(dir, snapshotName)), nil
}

// hlsOptions are the HLS muxer's options, name and value, for run number
// run into dir.
func (c Config) hlsOptions(dir string, run int64) [][2]string {
	r := strconv.FormatInt(run, 10)
	o := [][2]string{{"hls_time", seconds(c.SegmentDuration)}, {"hls_list_size", strconv.Itoa(c.Window)},
		{"hls_flags", "delete_segments+independent_segments+temp_file+omit_endlist"}}
	if c.SegmentType == "mpegts" {
		o = append(o, [2]string{"hls_segment_type", "mpegts"}, [2]string{"hls_segment_filename", filepath.Join(dir, r+"-%d.ts")})
	} else {
		o = append(o, [2]string{"hls_segment_type", "fmp4"}, [2]string{"hls_fmp4_init_filename", "init-" + r + ".mp4"},
			[2]string{"hls_segment_filename", filepath.Join(dir, r+"-%d.m4s")})
	}
	return append(o, [2]string{"hls_start_number_source", "epoch"})
}

// PushArgs are ffmpeg's arguments to push a room (what its tap sends: in)
// to an RTMP(S) URL (the target's URL and key): FLV with H.264 (copied when
// the room sends one H.264 picture; co-hosts laid out side by side) and AAC
// at 44.1 kHz, what every RTMP ingest takes.
func PushArgs(c Config, in Input, url string) ([]string, error) {
	c = c.withDefaults()
	copyVideo, err := copyVideo(in)
	if err != nil {
		return nil, err
	}
	if in.Videos+in.Audios == 0 {
		return nil, errNoOutput
	}
	args := inputArgs(false)
	if g := c.graph(in, true, false); g != "" {
		args = append(args, "-filter_complex", g)
	}
	args = append(args, c.encodeArgs(in, copyVideo, 44100)...)
	return append(args, "-f", "flv", "-flvflags", "no_duration_filesize", url), nil
}
