package e2e

import (
	"bytes"
	"fmt"
	"image/jpeg"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/onair-live/onair/cmd/onair/app"
)

// wallNode is an egress node with accounts whose snapshots are taken every
// second and kept every second, so a test sees several kept in seconds.
func wallNode(t *testing.T) *node {
	return egressNode(t, func(c *app.Config) {
		c.Dev = false
		c.Egress.SnapshotInterval = time.Second
		c.Egress.SnapshotKeepEvery = time.Second
	})
}

// keptSnapshots is the list of a room's kept snapshots once it has at least
// n of them.
func keptSnapshots(t *testing.T, n *node, room, token string, atLeast int) []any {
	t.Helper()
	var list []any
	eventually(t, 30*time.Second, fmt.Sprintf("%d kept snapshots of %s", atLeast, room), func() bool {
		time.Sleep(200 * time.Millisecond)
		status, out, _ := api(t, n, "GET", "/api/admin/rooms/"+room+"/snapshots", token, nil)
		if status != 200 {
			t.Fatalf("kept snapshots of %s: %d %v", room, status, out)
		}
		list, _ = out["snapshots"].([]any)
		return len(list) >= atLeast
	})
	return list
}

// An admin's live wall lists every live room with its snapshot URL, which
// serves the room's JPEG; a viewer and a streamer get 403 (problem+json),
// anonymous 401. The snapshots kept of the room are listed newest first, a
// page at a time, and served as private JPEGs to admins only; a name that
// is not a kept snapshot's, or tries to leave the folder, gets a 4xx and
// never a file. Ending the broadcast takes the room off the wall.
func TestLiveWallAPI(t *testing.T) {
	_, h264, ogg := sources720(t)
	n := wallNode(t)
	star := createUser(t, n, "wallstar", "streamer", "wallstar-pass-1")
	createUser(t, n, "wallboss", "admin", "wallboss-pass-1")
	createUser(t, n, "wallfan", "viewer", "wallfan-pass-1")
	boss, fan := login(t, n, "wallboss", "wallboss-pass-1"), login(t, n, "wallfan", "wallfan-pass-1")
	streamer := login(t, n, "wallstar", "wallstar-pass-1")
	if status, out, _ := api(t, n, "PATCH", "/api/rooms/wallstar", streamer, map[string]any{"title": "Night market", "private": true}); status != 200 {
		t.Fatalf("room settings: %d %v", status, out)
	}
	publishFiles(t, n, "wallstar", star["stream_key"], h264, ogg)

	var room map[string]any
	eventually(t, 20*time.Second, "the room on the wall", func() bool {
		status, out, _ := api(t, n, "GET", "/api/admin/live", boss, nil)
		if status != 200 {
			t.Fatalf("admin live wall: %d %v", status, out)
		}
		rooms, _ := out["rooms"].([]any)
		if len(rooms) == 1 {
			room = rooms[0].(map[string]any)
		}
		return room != nil
	})
	streamerOf, _ := room["streamer"].(map[string]any)
	if room["id"] != "wallstar" || room["title"] != "Night market" || room["private"] != true || room["here"] != true ||
		streamerOf["name"] != "wallstar" || room["snapshot_url"] != "/api/rooms/wallstar/snapshot.jpg" ||
		room["snapshots_url"] != "/api/admin/rooms/wallstar/snapshots" || room["started_at"] == nil {
		t.Fatalf("the wall's room: %v", room)
	}
	// The lobby does not list a private room; the wall does.
	if _, out, _ := api(t, n, "GET", "/api/rooms", "", nil); len(out["rooms"].([]any)) != 0 {
		t.Fatalf("the lobby lists a private room: %v", out)
	}
	eventually(t, 20*time.Second, "the wall's snapshot URL to serve a JPEG", func() bool {
		status, hdr, body := do(t, "GET", n.base+room["snapshot_url"].(string), "", "", "Authorization", "Bearer "+boss)
		if status != 200 {
			time.Sleep(200 * time.Millisecond)
			return false
		}
		img, err := jpeg.DecodeConfig(strings.NewReader(body))
		if hdr.Get("Content-Type") != "image/jpeg" || err != nil || img.Width != 640 {
			t.Fatalf("snapshot: %v %v %+v", hdr, err, img)
		}
		return true
	})

	for who, tok := range map[string]string{"viewer": fan, "streamer": streamer, "anonymous": ""} {
		want := 403
		if tok == "" {
			want = 401
		}
		for _, path := range []string{"/api/admin/live", "/api/admin/rooms/wallstar/snapshots"} {
			status, hdr, body := do(t, "GET", n.base+path, "", "", "Authorization", "Bearer "+tok)
			if status != want || hdr.Get("Content-Type") != "application/problem+json" || !strings.Contains(body, `"detail"`) {
				t.Fatalf("%s GET %s: %d %s %s, want %d problem+json", who, path, status, hdr.Get("Content-Type"), body, want)
			}
		}
		if status, _, _ := api(t, n, "POST", "/api/admin/rooms/wallstar/end", tok, nil); status != want {
			t.Fatalf("%s ends the broadcast: %d, want %d", who, status, want)
		}
	}

	// Kept snapshots: newest first, each a private JPEG.
	list := keptSnapshots(t, n, "wallstar", boss, 3)
	var last int64 = 1 << 62
	for _, it := range list {
		s := it.(map[string]any)
		name, url := s["name"].(string), s["url"].(string)
		var ms int64
		if _, err := fmt.Sscanf(name, "%d.jpg", &ms); err != nil || ms >= last || url != "/api/admin/rooms/wallstar/snapshots/"+name || s["bytes"].(float64) < 1000 {
			t.Fatalf("kept snapshot %v after %d", s, last)
		}
		if taken, err := time.Parse(time.RFC3339Nano, s["taken_at"].(string)); err != nil || taken.UnixMilli() != ms {
			t.Fatalf("taken_at %v of %s (%v)", s["taken_at"], name, err)
		}
		last = ms
	}
	first := list[0].(map[string]any)
	status, hdr, body := do(t, "GET", n.base+first["url"].(string), "", "", "Authorization", "Bearer "+boss)
	if status != 200 || hdr.Get("Content-Type") != "image/jpeg" || !strings.HasPrefix(hdr.Get("Cache-Control"), "private") ||
		hdr.Get("Access-Control-Allow-Origin") != "" || int64(len(body)) != int64(first["bytes"].(float64)) {
		t.Fatalf("kept snapshot: %d %v (%d bytes)", status, hdr, len(body))
	}
	if img, err := jpeg.DecodeConfig(bytes.NewReader([]byte(body))); err != nil || img.Width != 640 {
		t.Fatalf("kept snapshot is no 640-pixel JPEG: %+v %v", img, err)
	}
	if status, _, _ := do(t, "GET", n.base+first["url"].(string), "", "", "Authorization", "Bearer "+fan); status != 403 {
		t.Fatalf("a viewer fetches a kept snapshot: %d", status)
	}

	// One a page: next leads to the one after.
	status, out, _ := api(t, n, "GET", "/api/admin/rooms/wallstar/snapshots?limit=1", boss, nil)
	page, _ := out["snapshots"].([]any)
	next, _ := out["next"].(string)
	if status != 200 || len(page) != 1 || page[0].(map[string]any)["name"] != first["name"] || !strings.Contains(next, "before=") {
		t.Fatalf("first page of one: %d %v", status, out)
	}
	status, out, _ = api(t, n, "GET", next, boss, nil)
	if page, _ = out["snapshots"].([]any); status != 200 || len(page) != 1 || page[0].(map[string]any)["name"] != list[1].(map[string]any)["name"] {
		t.Fatalf("second page: %d %v", status, out)
	}
	for _, q := range []string{"limit=0", "limit=201", "limit=x", "before=-5", "before=soon"} {
		if status, out, _ := api(t, n, "GET", "/api/admin/rooms/wallstar/snapshots?"+q, boss, nil); status != 400 {
			t.Fatalf("?%s: %d %v, want 400", q, status, out)
		}
	}

	// Names that are not a kept snapshot's never reach a file. The raw
	// paths are sent as written (no client-side cleaning of "..").
	for _, path := range []string{
		"/api/admin/rooms/wallstar/snapshots/..%2F..%2Fonair.db",
		"/api/admin/rooms/wallstar/snapshots/..%2f..%2fsecret.key",
		"/api/admin/rooms/wallstar/snapshots/../../../onair.db",
		"/api/admin/rooms/wallstar/snapshots/..",
		"/api/admin/rooms/wallstar/snapshots/%2e%2e",
		"/api/admin/rooms/wallstar/snapshots/" + first["name"].(string) + "%2F..",
		"/api/admin/rooms/..%2F..%2Fwallstar/snapshots/" + first["name"].(string),
		"/api/admin/rooms/%2e%2e/snapshots/" + first["name"].(string),
		"/api/admin/rooms/wallstar/snapshots/.keep-1",
		"/api/admin/rooms/wallstar/snapshots/1.jpg",
		"/api/admin/rooms/wallstar/snapshots/" + strings.TrimSuffix(first["name"].(string), ".jpg"),
	} {
		req, err := http.NewRequest("GET", n.base+"/", nil)
		if err != nil {
			t.Fatal(err)
		}
		req.URL.Opaque = "//" + req.URL.Host + path // sent byte for byte
		req.Header.Set("Authorization", "Bearer "+boss)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		_ = resp.Body.Close()
		if resp.StatusCode < 400 || resp.StatusCode > 499 || resp.Header.Get("Content-Type") == "image/jpeg" {
			t.Fatalf("GET %s: %d %s, want a 4xx", path, resp.StatusCode, resp.Header.Get("Content-Type"))
		}
	}

	// Ending the broadcast: gone from the wall, audited, ending it again is 404.
	if status, out, _ := api(t, n, "POST", "/api/admin/rooms/wallstar/end", boss, nil); status != 204 {
		t.Fatalf("end the broadcast: %d %v", status, out)
	}
	eventually(t, 10*time.Second, "the room to leave the wall", func() bool {
		_, out, _ := api(t, n, "GET", "/api/admin/live", boss, nil)
		rooms, _ := out["rooms"].([]any)
		return len(rooms) == 0
	})
	if status, out, _ := api(t, n, "POST", "/api/admin/rooms/wallstar/end", boss, nil); status != 404 {
		t.Fatalf("end a room that is not live: %d %v", status, out)
	}
	_, out, _ = api(t, n, "GET", "/api/admin/audit", boss, nil)
	if !strings.Contains(fmt.Sprint(out["entries"]), "broadcast_end") {
		t.Fatalf("audit log: %v", out)
	}
	// What was kept stays for review after the room ended.
	if after := keptSnapshots(t, n, "wallstar", boss, 1); len(after) < len(list) {
		t.Fatalf("kept snapshots after the end: %d, before %d", len(after), len(list))
	}
}
