// Package web holds onair's browser pages, embedded in the binary.
//
// The pages are plain ES modules with no build step and no outside CDN:
//
//	lobby.html       /:              the rooms live now, with login / sign-up or the user in the top bar
//	login.html       /login:         log in or sign up, then back to ?next=
//	studio.html      /studio/{room}: publish a camera and microphone over WHIP, see co-hosts over WHEP;
//	                                 room settings and a new stream key for the room's owner
//	watch.html       /watch/{room}:  play a room over WHEP (up to four stage slots), room data channel,
//	                                 room title, viewers and Follow
//	messages.html    /messages:      private messages: conversations with unread counts, history,
//	                                 sending, blocking, live over GET /ws/me
//	wallet.html      /wallet:        coins: balance, recharge packages (checkout with the payment provider), orders,
//	                                 coin history with "load more"
//	earnings.html    /earnings:      a streamer's earnings, the withdrawal form with its terms, the requests
//	replay.html      /replay/{id}:   a recorded broadcast in a <video> (MP4), deleted by its streamer or an admin
//	admin-live.html  /admin/live:    the admins' live wall: every live room's snapshot, end a broadcast,
//	                                 ban its streamer, the pictures kept of a room
//	static/common.js shared helpers: WHIP/WHEP exchange, problem+json, ice-server Link headers, stats,
//	                 formatting and DOM helpers; it adds inbox.js to every page with a top bar
//	static/api.js    the REST API: JSON requests with the session cookie, the current user, the
//	                 top bar's account area
//	static/stage.js  the WHEP stage player that both pages use
//	static/layers.js the WHEP layer extension from the player's side: the quality menu's choice and
//	                 the cap for a small or hidden player, per stage slot
//	static/room-channel.js the "room" data channel (chat plugs in here)
//	static/chat.js   room chat over GET /ws/rooms/{room} (reconnects with ?after=), the chat
//	                 panel and the danmaku overlay that both pages use
//	static/inbox.js  the top bar's "Messages" link with the unread count, and GET /ws/me shared by a page
//	static/messages.js the messages page
//	static/wallet.js the wallet page, and the money formatting, ledger lines and paged lists that
//	                 earnings.js shares with it
//	static/earnings.js the earnings page
//
// The studio and watch pages read the room from location.pathname, so the
// server serves the same HTML for every room, and the assets under /static/.
package web

import (
	"embed"
	"io/fs"
)

//go:embed lobby.html login.html messages.html studio.html watch.html wallet.html earnings.html replay.html admin-live.html static
var files embed.FS

// FS holds the pages at its top (lobby.html, login.html, messages.html,
// studio.html, watch.html) and the assets under static/. The server serves
// static/ at /static/, lobby.html at /, login.html at /login, messages.html at
// /messages, wallet.html at /wallet, earnings.html at /earnings, admin-live.html
// at /admin/live, and studio.html and watch.html at /studio/{room} and
// /watch/{room}.
var FS fs.FS = files
