// Package client is onair's Go client: a WHIP publisher, a WHEP viewer
// (RFC 9725 and the WHEP draft) and a room chat client, used by the end-to-end tests, the
// benchmarks and onairctl.
//
// A Publisher sends the samples of up to two Sources (one video, one audio)
// over one peer connection; a Source yields encoded samples paced against the
// wall clock, read in a loop from an IVF, Annex-B H.264 or Ogg/Opus file, or
// made up by a synthetic generator so that no file is needed.
// PublishSimulcast sends the video as several encodings of one track told
// apart by RID (RFC 8853), as browsers send simulcast; NewSyntheticSimulcast
// makes the usual three layers q, h and f. Synthetic VP8 frames carry a
// Marker in their payload (layer, frame number, send time).
//
// A Viewer receives the tracks of a room over one peer connection and keeps
// per-track statistics (packets, bytes, sequence gaps, frames, keyframes,
// time to the first packet, to the first keyframe and to the first keyframe
// received whole) without allocating per packet. From the Markers it counts
// what arrived of each layer and, through OnFrame, tells each frame's
// latency. It also opens the room's data channel (label "room").
//
// A Chat (DialChat) is the room's messages over GET /ws/rooms/{room}
// for clients without WebRTC: it reads the server's batched frames (a JSON
// array of envelopes each), sends chat, danmaku and likes, reports refusals as
// *RoomError and resumes after a reconnect from the last id it saw. Signup,
// LogIn and Me cover the account calls the chat and load tools need.
//
// Signalling is non-trickle: the offer is sent once ICE gathering is
// complete, the answer must be 201 Created with a Location header, and a
// DELETE on that Location ends the session. Error answers are parsed from
// application/problem+json (RFC 9457) into *HTTPError.
//
// With Options.LoopbackOnly the peer connection gathers only UDP4 host
// candidates on the loopback interface and never sends mDNS queries, which is
// what the tests need on a machine (or network namespace) with only lo.
package client
