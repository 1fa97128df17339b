// Package sfu is onair's media plane: a selective forwarding unit built on Pion.
//
// It owns peer connections, tracks and RTP forwarding. It knows rooms only as ids
// and publishers only as opaque identities; users, coins and HTTP live elsewhere.
//
// Data flow: a Publisher's upstream track is read by one goroutine into pooled
// packets, video gathered into frames (frame.go); its feed (one per stage slot
// and media kind) hands each frame to every subscribed downTrack's bounded queue
// without blocking, and each downTrack rewrites SSRC, sequence number and
// timestamp and writes from its own goroutine, so a slow subscriber only ever
// loses its own packets. A viewer's downTrack writes on the wire (wire.go): it
// seals with the viewer's SRTP keys (srtpkeys.go) and sends a frame in one
// segmented sendmsg through the SFU's own sockets (batchconn_linux.go), whose
// reader also takes the viewer's RTCP (rtcpin.go); pion keeps ICE and DTLS. A
// Tap joins a stage the same way and writes plain RTP to loopback
// UDP for a local receiver (ffmpeg egress jobs), which is all the media plane
// knows of them.
//
// Lock order: SFU.mu → Router.mu → feed.mu. No lock is held across a network write.
package sfu
