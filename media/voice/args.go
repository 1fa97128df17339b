package voice

import (
	"strconv"
	"time"
)

// TranscodeArgs are ffmpeg's arguments to turn the file in, read as kind,
// into mono Ogg/Opus for speech at out, at most limit long.
//
// The demuxer is named (-f), never guessed, and only the file protocol is
// allowed. Only the first audio stream is kept, without metadata (a phone's
// clip can carry its owner's details). libopus in VoIP mode is tuned for
// speech; the input's sample rate is kept (Opus takes 8, 16 and 48 kHz as
// they are) and every decoder plays it at 48 kHz.
func TranscodeArgs(in, out string, kind Kind, limit time.Duration, bitrate int) []string {
	return []string{
		"-hide_banner", "-nostdin", "-loglevel", "error",
		"-protocol_whitelist", "file",
		"-f", kinds[kind].demuxer, "-i", "file:" + in,
		"-map", "0:a:0", "-map_metadata", "-1",
		"-t", strconv.FormatFloat(limit.Seconds(), 'f', 3, 64),
		"-ac", "1",
		"-c:a", "libopus", "-b:a", strconv.Itoa(bitrate), "-application", "voip",
		"-f", "ogg", "-y", "file:" + out,
	}
}
