// Package sfu is onair's media plane: a selective forwarding unit built on Pion.
//
// It owns peer connections, tracks and RTP forwarding. It knows rooms only as ids
// and publishers only as opaque identities; users, coins and HTTP live elsewhere.
//
// Data flow: a Publisher's upstream track is read by one goroutine into pooled
// packets, video gathered into frames (frame.go); its feed (one per stage slot
// and media kind) sends each frame to its layer's downTracks (fanout.go). A
// viewer's downTrack on the wire (wire.go) rewrites SSRC, sequence number and
// timestamp and seals with the viewer's SRTP keys (srtpkeys.go, seal.go) into
// its own ring; when it is steady the fan-out does that itself and sends 32
// viewers' frames in one sendmmsg through the SFU's own sockets
// (mmsg_linux.go, batchconn_linux.go), large rooms from one goroutine per
// core; a track that is switching layers, starting or behind is handed the
// frame's reference in a bounded queue and its own goroutine sends it, so a
// slow subscriber only ever loses its own packets. The sockets' reader takes
// the viewers' RTCP (rtcpin.go, twcc.go, srtcpopen.go); pion keeps ICE and
// DTLS, and the tracks of viewers whose keys were not caught. A Tap joins a
// stage the same way and writes plain RTP to loopback UDP for a local
// receiver (ffmpeg egress jobs), which is all the media plane knows of them.
//
// Lock order: SFU.mu → Router.mu → feed.mu. No lock that viewers share is held
// across a network write; a track's own (downTrack.mu) is held while its
// packets go out, non-blocking, through a socket every sender shares anyway.
package sfu
