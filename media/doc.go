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
//   - media/egress: live rooms through ffmpeg: HLS, snapshots and RTMP(S)
//     restreams, read from the SFU's RTP taps, one supervised ffmpeg per
//     room and per restream target; restream targets and the allow-list of
//     hosts they may push to.
//
// Recordings belong here too, on top of media/ffmpeg.
//
// media knows nothing of HTTP, chat or accounts: it declares the small store
// interfaces it needs (voice.Store, egress.TargetStore) and the edge
// (signaling) calls it. Only cmd/onair/app wires it to the system of record.
package media
