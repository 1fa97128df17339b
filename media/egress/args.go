package egress

import (
	"fmt"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/onair-live/onair/media/ffmpeg"
	"github.com/onair-live/onair/sfu"
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

// videoCodec is the codec name of the video track among tracks.
func videoCodec(tracks []sfu.TapTrack) string {
	for _, t := range tracks {
		if t.Kind == "video" {
			return t.Codec()
		}
	}
	return ""
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

// videoArgs encode the video for an H.264 output: copied when it is H.264
// already; otherwise x264 with low-latency settings, a keyframe every
// segment, scaled to fit the configured picture (WebRTC senders change their
// resolution as bandwidth allows; the output must not).
func (c Config) videoArgs(copyVideo bool) []string {
	if copyVideo {
		return []string{"-c:v", "copy"}
	}
	w, h := c.Width, c.Height
	br := strconv.Itoa(c.VideoBitrate)
	return []string{
		"-vf", fmt.Sprintf("scale=%d:%d:force_original_aspect_ratio=decrease,pad=%d:%d:(ow-iw)/2:(oh-ih)/2,format=yuv420p", w, h, w, h),
		"-c:v", "libx264", "-preset", "veryfast", "-tune", "zerolatency",
		"-b:v", br, "-maxrate", br, "-bufsize", strconv.Itoa(2 * c.VideoBitrate),
		"-force_key_frames", "expr:gte(t,n_forced*" + seconds(c.SegmentDuration) + ")", "-sc_threshold", "0",
	}
}

// audioArgs encode Opus to stereo AAC at rate samples per second.
func (c Config) audioArgs(rate int) []string {
	return []string{"-c:a", "aac", "-b:a", strconv.Itoa(c.AudioBitrate), "-ar", strconv.Itoa(rate), "-ac", "2"}
}

// RoomArgs are ffmpeg's arguments for a room job's run number run: HLS and
// the snapshot (each when on), into the broadcast's folder dir, from a room
// whose video codec is codec.
//
// HLS is fMP4 (CMAF-style segments; EXT-X-VERSION 7), or MPEG-TS, with segments of
// SegmentDuration, Window of them in the playlist and older ones deleted;
// ffmpeg writes each file under a temporary name and renames it when
// complete, and leaves the playlist open (no EXT-X-ENDLIST) when it stops,
// since a restart continues the broadcast. The snapshot is one JPEG,
// replaced atomically every SnapshotInterval (the first as soon as a picture
// is decoded), at most SnapshotWidth wide. ffmpeg 5.1 writes a frame only
// when the next one reaches the encoder, so the filter picks frames in
// pairs: the first of the room and the one after it, then two every
// interval.
func RoomArgs(c Config, codec, dir string, run int64) ([]string, error) {
	return roomArgs(c, codec, dir, "", run)
}

// roomArgs are RoomArgs that, when recDir is not empty, also record the
// room (see RecordingRoomArgs).
func roomArgs(c Config, codec, dir, recDir string, run int64) ([]string, error) {
	c = c.withDefaults()
	copyVideo, err := videoCopy(codec)
	if err != nil {
		return nil, err
	}
	// Copied video is decoded for the snapshot alone.
	args := inputArgs(copyVideo && c.snapshots())
	if recDir != "" {
		args = endOnSilence(args)
	}
	if c.hls() || recDir != "" {
		args = append(args, "-map", "0:v:0", "-map", "0:a:0")
		args = append(args, c.videoArgs(copyVideo)...)
		args = append(args, c.audioArgs(48000)...)
	}
	switch {
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
	case recDir != "":
		args = append(args, recordOutput(recDir, run)...)
	}
	if !c.snapshots() {
		return args, nil
	}
	every := seconds(c.SnapshotInterval)
	return append(args, "-map", "0:v:0",
		"-vf", fmt.Sprintf("select='isnan(prev_selected_t)+gte(t-prev_selected_t,%s)+mod(selected_n,2)',scale=w='min(%d,iw)':h=-2", every, c.SnapshotWidth),
		"-fps_mode", "vfr", "-c:v", "mjpeg", "-q:v", "5",
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

// PushArgs are ffmpeg's arguments to push a room whose video codec is codec
// to an RTMP(S) URL (the target's URL and key): FLV with H.264 (copied when
// the room sends H.264) and AAC at 44.1 kHz, what every RTMP ingest takes.
func PushArgs(c Config, codec, url string) ([]string, error) {
	c = c.withDefaults()
	copyVideo, err := videoCopy(codec)
	if err != nil {
		return nil, err
	}
	args := append(inputArgs(false), "-map", "0:v:0", "-map", "0:a:0")
	args = append(args, c.videoArgs(copyVideo)...)
	args = append(args, c.audioArgs(44100)...)
	return append(args, "-f", "flv", "-flvflags", "no_duration_filesize", url), nil
}
