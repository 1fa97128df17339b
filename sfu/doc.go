// Package sfu is onair's media plane: a selective forwarding unit built on Pion.
//
// It owns peer connections, tracks and RTP forwarding. It knows rooms only as ids
// and publishers only as opaque identities; users, coins and HTTP live elsewhere.
//
// Data flow: a Publisher's upstream track is read by one goroutine into pooled
// packets; its feed (one per stage slot and media kind) hands each packet to
// every subscribed downTrack's bounded queue without blocking, and each downTrack
// rewrites SSRC, sequence number and timestamp and writes from its own goroutine,
// so a slow subscriber only ever loses its own packets. A Tap joins a stage the
// same way and writes plain RTP to loopback UDP for a local receiver (ffmpeg
// egress jobs), which is all the media plane knows of them.
//
// Lock order: SFU.mu → Router.mu → feed.mu. No lock is held across a network write.
package sfu
