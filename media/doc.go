// Package media is the home of onair's media jobs run through ffmpeg: work on
// audio and video files and streams that the SFU does not do itself.
//
// It owns:
//
//   - media/ffmpeg: finding ffmpeg and ffprobe, building their argument lists
//     (as data, golden-tested), running them without a shell in their own
//     process group (killed as a group when their context ends), turning their
//     stderr into errors a person can read, and ffprobe's view of a file.
//   - media/voice: voice messages: uploads sniffed by magic bytes, confirmed by
//     ffprobe, limited in size and length, transcoded to Ogg/Opus, stored in the
//     data folder under a bounded number of concurrent transcodes.
//
// The egress jobs (HLS, RTMP push, recordings, snapshots) belong here too, on
// top of media/ffmpeg.
//
// media knows nothing of HTTP, chat or accounts: it declares the small store
// interface it needs (voice.Store) and the edge (signaling) calls it. Only
// cmd/onair/app wires it to the system of record.
package media
