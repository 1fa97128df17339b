// Package egress takes live rooms out of WebRTC through ffmpeg: HLS for
// players without WebRTC, a JPEG snapshot of each live room every few
// seconds, and RTMP(S) pushes to the streamer's restream targets.
//
// A [Supervisor] runs, per live room, one room job (HLS and snapshots) and
// one job per enabled restream target. Each job is one ffmpeg at a time that
// reads the room through an [sfu.Tap] (plain RTP on loopback, described to
// ffmpeg by an SDP on its stdin); when ffmpeg dies while the room is live the
// job starts it again with a growing pause (1 s, 2 s, 4 s ... up to a limit),
// and it stops when the room ends. A global cap bounds the ffmpeg processes
// of a node; a job over the cap waits, with a status saying why.
//
// A tap sends every co-host (up to Config.CoHosts); with more than one the
// jobs lay their pictures out side by side or in a grid and mix their
// voices (composite.go), and start ffmpeg again with a new layout when the
// tap says the stage changed. A recording whose parts differ in picture is
// joined by encoding once more (join.go).
//
// Argument lists are data, built by functions (args.go) and golden-tested.
// H.264 from the publisher is copied; VP8 and VP9 are transcoded to H.264
// with x264's low-latency settings; Opus becomes AAC. ffmpeg 5.1 has no
// depacketizer for AV1 over RTP, so an AV1 room gets no egress (ErrCodec).
//
// HLS is fMP4 with short segments (EXT-X-VERSION 7, EXT-X-MAP), in a folder
// per broadcast under <data>/egress. Every run names its files with its own
// number (init-<run>.mp4, <run>-<seq>.m4s), so a name never changes content
// and segments may be cached as immutable; media sequence numbers come from
// the clock, so they keep growing across restarts.
//
// Restream targets live in the system of record (TargetStore); a target's
// host must pass the allow-list (Config.RTMPAllow) on every save and before
// every connection, and its stream key is never logged or shown in full.
//
// Lock order: broadcast.sync (one target sync per room) before
// Supervisor.mu, broadcast.mu or job.mu, which are never held together.
package egress
