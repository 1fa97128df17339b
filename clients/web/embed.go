// Package web holds onair's browser pages, embedded in the binary.
//
// The pages are plain ES modules with no build step and no outside CDN:
//
//	studio.html      /studio/{room}: publish a camera and microphone over WHIP, see co-hosts over WHEP
//	watch.html       /watch/{room}:  play a room over WHEP (up to four stage slots), room data channel
//	static/common.js shared helpers: WHIP/WHEP exchange, problem+json, ice-server Link headers, stats
//	static/stage.js  the WHEP stage player that both pages use
//	static/room-channel.js the "room" data channel (chat plugs in here)
//
// Both pages read the room from location.pathname, so the server serves the
// same HTML for every room, and the assets under /static/.
package web

import (
	"embed"
	"io/fs"
)

//go:embed studio.html watch.html static
var files embed.FS

// FS holds the pages at its top (studio.html, watch.html) and the assets
// under static/. The server serves static/ at /static/ and the two pages at
// /studio/{room} and /watch/{room}.
var FS fs.FS = files
