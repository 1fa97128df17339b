package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/pion/webrtc/v4"

	client "github.com/onair-live/onair/clients/go"
	"github.com/onair-live/onair/cmd/onair/app"
	"github.com/onair-live/onair/store"
)

// createUser runs `onair admin create-user` against the node's data folder and
// returns what it printed (id, stream_key, password).
func createUser(t testing.TB, n *node, name, role, password string) map[string]string {
	t.Helper()
	var out, errb bytes.Buffer
	args := []string{"admin", "create-user", "--name", name, "--role", role, "--data", n.cfg.Data}
	if n.cfg.DB != "" {
		args = append(args, "--db", n.cfg.DB)
	}
	if password != "" {
		args = append(args, "--password", password)
	}
	if code := app.Main(context.Background(), args, os.Getenv, &out, &errb); code != 0 {
		t.Fatalf("create-user %s: exit %d: %s", name, code, errb.String())
	}
	got := map[string]string{}
	for _, line := range strings.Split(strings.TrimSpace(out.String()), "\n") {
		k, v, ok := strings.Cut(line, ": ")
		if !ok {
			t.Fatalf("create-user printed %q", line)
		}
		got[k] = v
	}
	if got["id"] == "" {
		t.Fatalf("create-user printed no id: %q", out.String())
	}
	return got
}

// api sends a JSON request with an optional Bearer token.
func api(t testing.TB, n *node, method, path, token string, body any) (int, map[string]any, http.Header) {
	t.Helper()
	status, out, hdr, err := apiCall(n, method, path, token, body)
	if err != nil {
		t.Fatal(err)
	}
	return status, out, hdr
}

// apiQuiet is api for a server that may go away: no answer is status 0.
func apiQuiet(n *node, method, path, token string, body any) (int, map[string]any, http.Header) {
	status, out, hdr, _ := apiCall(n, method, path, token, body)
	return status, out, hdr
}

func apiCall(n *node, method, path, token string, body any) (int, map[string]any, http.Header, error) {
	var r io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		r = bytes.NewReader(b)
	}
	req, _ := http.NewRequest(method, n.base+path, r)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, nil, nil, err
	}
	defer resp.Body.Close()
	var out map[string]any
	b, _ := io.ReadAll(resp.Body)
	_ = json.Unmarshal(b, &out)
	return resp.StatusCode, out, resp.Header, nil
}

func login(t testing.TB, n *node, name, password string) string {
	t.Helper()
	status, out, hdr := api(t, n, "POST", "/api/auth/login", "", map[string]string{"name": name, "password": password})
	if status != 200 || out["token"] == nil {
		t.Fatalf("login %s: %d %v", name, status, out)
	}
	if ck := hdr.Get("Set-Cookie"); !strings.Contains(ck, "onair_session=") || !strings.Contains(ck, "HttpOnly") || !strings.Contains(ck, "SameSite=Lax") {
		t.Fatalf("session cookie %q", ck)
	}
	return out["token"].(string)
}

// Every route × role gets the expected status: anonymous, a viewer, the room's
// own streamer, another streamer, an admin.
func TestAuthorizationMatrix(t *testing.T) {
	n := startNode(t, func(c *app.Config) { c.Dev = false })
	createUser(t, n, "owner", "streamer", "owner-password")
	createUser(t, n, "rival", "streamer", "rival-password")
	createUser(t, n, "fan", "viewer", "fan-password")
	createUser(t, n, "boss", "admin", "boss-password")
	tokens := map[string]string{
		"anonymous": "",
		"viewer":    login(t, n, "fan", "fan-password"),
		"owner":     login(t, n, "owner", "owner-password"),
		"other":     login(t, n, "rival", "rival-password"),
		"admin":     login(t, n, "boss", "boss-password"),
	}
	title := map[string]string{"title": "Tonight"}
	type row struct {
		method, path string
		body         any
		want         map[string]int // by role
	}
	all := func(code int) map[string]int {
		return map[string]int{"anonymous": code, "viewer": code, "owner": code, "other": code, "admin": code}
	}
	loggedIn := func(code int) map[string]int {
		m := all(code)
		m["anonymous"] = 401
		return m
	}
	rows := []row{
		{"GET", "/api/rooms", nil, all(200)},
		{"GET", "/api/openapi.json", nil, all(200)},
		{"GET", "/api/rooms/owner", nil, all(200)},
		{"GET", "/api/me", nil, loggedIn(200)},
		{"PATCH", "/api/rooms/owner", title, map[string]int{"anonymous": 401, "viewer": 403, "owner": 200, "other": 403, "admin": 200}},
		{"POST", "/api/me/stream-key", nil, map[string]int{"anonymous": 401, "viewer": 403, "owner": 200, "other": 200, "admin": 200}},
		{"POST", "/api/users/owner/follow", nil, map[string]int{"anonymous": 401, "viewer": 204, "owner": 409, "other": 204, "admin": 204}},
		{"DELETE", "/api/users/owner/follow", nil, loggedIn(204)},
		{"GET", "/api/users/owner/followers", nil, all(200)},
		{"GET", "/api/users/owner/following", nil, all(200)},
		{"GET", "/api/rooms/nobody", nil, all(404)},
		{"POST", "/api/users/nobody/follow", nil, loggedIn(404)},
		{"GET", "/api/admin/settings", nil, map[string]int{"anonymous": 401, "viewer": 403, "owner": 403, "other": 403, "admin": 200}},
		{"PUT", "/api/admin/settings", map[string]any{"broadcast_min_level": 0}, map[string]int{"anonymous": 401, "viewer": 403, "owner": 403, "other": 403, "admin": 200}},
		{"POST", "/api/admin/users/nobody/ban", map[string]string{"reason": "x"}, map[string]int{"anonymous": 401, "viewer": 403, "owner": 403, "other": 403, "admin": 404}},
		{"POST", "/api/auth/logout", nil, loggedIn(204)},
	}
	for _, r := range rows {
		for _, who := range []string{"anonymous", "viewer", "owner", "other", "admin"} {
			status, out, _ := api(t, n, r.method, r.path, tokens[who], r.body)
			if status != r.want[who] {
				t.Errorf("%s %s as %s: %d, want %d (%v)", r.method, r.path, who, status, r.want[who], out)
			}
			if status >= 400 && (out["detail"] == nil || out["title"] == nil) {
				t.Errorf("%s %s as %s: %d without a problem body", r.method, r.path, who, status)
			}
		}
	}
	// After logout the token is refused.
	if status, _, _ := api(t, n, "GET", "/api/me", tokens["viewer"], nil); status != 401 {
		t.Errorf("token after logout: %d", status)
	}
}

// WHIP needs the room owner's stream key; each refusal says why.
func TestWHIPStreamKeys(t *testing.T) {
	n := startNode(t, func(c *app.Config) { c.Dev = false })
	owner := createUser(t, n, "ownerw", "streamer", "owner-password")
	rival := createUser(t, n, "rivalw", "streamer", "rival-password")
	offer := makeOffer(t, webrtc.RTPTransceiverDirectionSendonly)
	post := func(key string) (int, string) {
		var hdr []string
		if key != "" {
			hdr = []string{"Authorization", "Bearer " + key}
		}
		status, _, body := do(t, "POST", n.base+"/whip/ownerw", "application/sdp", offer, hdr...)
		return status, body
	}
	for _, c := range []struct {
		name, key string
		status    int
		detail    string
	}{
		{"no key", "", 401, "stream key"},
		{"wrong key", "sk_not-a-key", 403, "not valid"},
		{"another room's key", rival["stream_key"], 403, "rivalw"},
	} {
		status, body := post(c.key)
		if status != c.status || !strings.Contains(body, c.detail) {
			t.Errorf("%s: %d %s", c.name, status, body)
		}
	}
	if status, body := post(owner["stream_key"]); status != 201 {
		t.Fatalf("right key: %d %s", status, body)
	}
	// Rotating the key cuts off whoever streams with the old one, at once.
	ownerToken := login(t, n, "ownerw", "owner-password")
	if status, out, _ := api(t, n, "POST", "/api/me/stream-key", ownerToken, nil); status != 200 {
		t.Fatalf("rotate: %d %v", status, out)
	}
	eventually(t, 5*time.Second, "the old key's stream to end", func() bool { return len(n.app.SFU().Rooms()) == 0 })
	if status, _ := post(owner["stream_key"]); status != 403 {
		t.Fatalf("old key after rotation: %d", status)
	}
	_, out, _ := api(t, n, "POST", "/api/me/stream-key", ownerToken, nil)
	owner["stream_key"] = out["stream_key"].(string)
	if status, body := post(owner["stream_key"]); status != 201 {
		t.Fatalf("new key: %d %s", status, body)
	}
	createUser(t, n, "modw", "admin", "admin-password")
	if status, out, _ := api(t, n, "POST", "/api/admin/users/ownerw/ban", login(t, n, "modw", "admin-password"), map[string]string{"reason": "repeated spam"}); status != 204 {
		t.Fatalf("ban: %d %v", status, out)
	}
	eventually(t, 5*time.Second, "the banned streamer's stream to end", func() bool { return len(n.app.SFU().Rooms()) == 0 })
	if status, body := post(owner["stream_key"]); status != 403 || !strings.Contains(body, "repeated spam") {
		t.Errorf("banned streamer: %d %s", status, body)
	}
}

// Viewer counts come from WHEP sessions: 5 join, 2 leave, the lobby shows 3.
func TestViewerCounts(t *testing.T) {
	n := startNode(t, func(c *app.Config) { c.Dev = false; c.SFU.RepublishGrace = 300 * time.Millisecond })
	u := createUser(t, n, "counted", "streamer", "counted-password")
	pub := publishSynthetic(t, n, "counted", u["stream_key"], 30, false)
	var viewers []*client.Viewer
	for range 5 {
		v := watch(t, n, "counted", "", 1)
		if err := v.WaitConnected(testContext(t, 10*time.Second)); err != nil {
			t.Fatal(err)
		}
		viewers = append(viewers, v)
	}
	count := func() float64 {
		_, out, _ := api(t, n, "GET", "/api/rooms", "", nil)
		rooms, _ := out["rooms"].([]any)
		for _, r := range rooms {
			if m := r.(map[string]any); m["id"] == "counted" {
				return m["viewers"].(float64)
			}
		}
		return -1
	}
	eventually(t, time.Second, "5 viewers in the lobby", func() bool { return count() == 5 })
	_ = viewers[0].Close()
	_ = viewers[1].Close()
	eventually(t, time.Second, "3 viewers in the lobby", func() bool { return count() == 3 })
	_, out, _ := api(t, n, "GET", "/api/rooms/counted", "", nil)
	if out["live"] != true || out["viewers"].(float64) != 3 {
		t.Fatalf("room view %v", out)
	}
	// The broadcast is recorded with its audience once it ends.
	for _, v := range viewers[2:] {
		_ = v.Close()
	}
	_ = pub.Close()
	eventually(t, 5*time.Second, "the broadcast to end", func() bool {
		bs, err := n.app.DB().Broadcasts(context.Background(), "counted", 1)
		return err == nil && len(bs) == 1 && bs[0].EndedAt != nil
	})
	bs, _ := n.app.DB().Broadcasts(context.Background(), "counted", 1)
	if bs[0].PeakViewers != 5 || bs[0].TotalViewers != 5 || !bs[0].EndedAt.After(bs[0].StartedAt) {
		t.Fatalf("broadcast record %+v", bs[0])
	}
}

// A private room plays only for logged-in viewers.
func TestPrivateRoom(t *testing.T) {
	n := startNode(t, func(c *app.Config) { c.Dev = false })
	u := createUser(t, n, "secret", "streamer", "secret-password")
	createUser(t, n, "member", "viewer", "member-password")
	owner := login(t, n, "secret", "secret-password")
	if status, out, _ := api(t, n, "PATCH", "/api/rooms/secret", owner, map[string]any{"private": true, "title": "Members only"}); status != 200 || out["private"] != true {
		t.Fatalf("make private: %d %v", status, out)
	}
	publishSynthetic(t, n, "secret", u["stream_key"], 30, false)
	offer := makeOffer(t, webrtc.RTPTransceiverDirectionRecvonly)
	status, _, body := do(t, "POST", n.base+"/whep/secret", "application/sdp", offer)
	if status != 401 || !strings.Contains(body, "private") {
		t.Fatalf("anonymous WHEP to a private room: %d %s", status, body)
	}
	if status, _, _ := api(t, n, "GET", "/api/rooms/secret", "", nil); status != 404 {
		t.Fatalf("anonymous GET of a private room: %d", status)
	}
	if status, _, _ := api(t, n, "GET", "/api/rooms/secret/messages", "", nil); status != 404 {
		t.Fatalf("anonymous history of a private room: %d", status)
	}
	if status, _, _ := do(t, "GET", n.base+"/ws/rooms/secret", "", ""); status != 404 {
		t.Fatalf("anonymous socket to a private room: %d", status)
	}
	v, err := client.Watch(testContext(t, 10*time.Second), n.opts("secret", login(t, n, "member", "member-password")), 1)
	if err != nil {
		t.Fatalf("member WHEP: %v", err)
	}
	_ = v.Close()
	_, out, _ := api(t, n, "GET", "/api/rooms", "", nil)
	if rooms := out["rooms"].([]any); len(rooms) != 0 {
		t.Fatalf("a private room is listed in the lobby: %v", rooms)
	}
}

// Bad account input: clear problems, nothing created.
func TestAccountBadInput(t *testing.T) {
	n := startNode(t, nil)
	for _, c := range []struct {
		path   string
		body   any
		status int
		detail string
	}{
		{"/api/auth/signup", map[string]string{"name": "ab", "password": "long-enough"}, 400, "3 to 32"},
		{"/api/auth/signup", map[string]string{"name": "<script>", "password": "long-enough"}, 400, "3 to 32"},
		{"/api/auth/signup", map[string]string{"name": "frank", "password": "short"}, 400, "8 characters"},
		{"/api/auth/signup", map[string]any{"name": "frank", "password": "long-enough", "role": "admin"}, 400, "unknown field"},
		{"/api/auth/signup", "not an object", 400, "JSON"},
		{"/api/auth/login", map[string]string{"name": "frank", "password": "long-enough"}, 401, "wrong name or password"},
	} {
		status, out, _ := api(t, n, "POST", c.path, "", c.body)
		if status != c.status || !strings.Contains(fmt.Sprint(out["detail"]), c.detail) {
			t.Errorf("%s %v: %d %v", c.path, c.body, status, out)
		}
	}
	if c, _ := n.app.DB().CountUsers(context.Background()); c != 0 {
		t.Fatalf("%d users were created by bad requests", c)
	}
	status, out, _ := api(t, n, "POST", "/api/auth/signup", "", map[string]string{"name": "frank", "password": "long-enough"})
	if status != 201 || out["user"].(map[string]any)["role"] != string(store.RoleViewer) {
		t.Fatalf("signup: %d %v", status, out)
	}
	if status, out, _ = api(t, n, "POST", "/api/auth/signup", "", map[string]string{"name": "frank", "password": "long-enough"}); status != 409 {
		t.Fatalf("second signup: %d %v", status, out)
	}
	if status, _, _ = api(t, n, "GET", "/api/me", "not.a.token", nil); status != 401 {
		t.Fatalf("garbage token: %d", status)
	}
}

// A stale session cookie never breaks public pages: it is cleared and the request
// is served anonymously; a bad Bearer token is refused.
func TestStaleCookie(t *testing.T) {
	n := startNode(t, nil)
	req, _ := http.NewRequest("GET", n.base+"/api/rooms", nil)
	req.AddCookie(&http.Cookie{Name: "onair_session", Value: "expired.or.forged"})
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(resp.Header.Get("Set-Cookie"), "Max-Age=0") {
		t.Fatalf("stale cookie: %d, Set-Cookie %q", resp.StatusCode, resp.Header.Get("Set-Cookie"))
	}
	if status, _, _ := api(t, n, "GET", "/api/rooms", "expired.or.forged", nil); status != 401 {
		t.Fatalf("bad bearer: %d", status)
	}
}

// Admins act only on lower roles, in both directions; forged client addresses
// and cross-site requests get nowhere.
func TestAbuseIsRefused(t *testing.T) {
	n := startNode(t, nil)
	createUser(t, n, "root", "superadmin", "root-password")
	createUser(t, n, "adm1", "admin", "adm1-password")
	createUser(t, n, "adm2", "admin", "adm2-password")
	root, adm1 := login(t, n, "root", "root-password"), login(t, n, "adm1", "adm1-password")
	if status, _, _ := api(t, n, "POST", "/api/admin/users/adm2/ban", root, map[string]string{"reason": "test"}); status != 204 {
		t.Fatalf("superadmin bans admin: %d", status)
	}
	if status, _, _ := api(t, n, "DELETE", "/api/admin/users/adm2/ban", adm1, nil); status != 403 {
		t.Fatalf("admin unbans a peer: %d", status)
	}
	if status, _, _ := api(t, n, "POST", "/api/admin/users/root/ban", adm1, map[string]string{"reason": "coup"}); status != 403 {
		t.Fatalf("admin bans the superadmin: %d", status)
	}

	// Rotating X-Forwarded-For does not reset the per-address login limit.
	limited := false
	for i := range 12 {
		req, _ := http.NewRequest("POST", n.base+"/api/auth/login", strings.NewReader(`{"name":"adm1","password":"wrong-password"}`))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("X-Forwarded-For", fmt.Sprintf("198.51.100.%d", i))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode == 429 {
			limited = true
			break
		}
	}
	if !limited {
		t.Fatal("12 wrong passwords with forged addresses were never limited")
	}

	// A cross-site request carrying the session cookie cannot change state.
	req, _ := http.NewRequest("POST", n.base+"/api/me/stream-key", nil)
	req.AddCookie(&http.Cookie{Name: "onair_session", Value: root})
	req.Header.Set("Sec-Fetch-Site", "cross-site")
	req.Header.Set("Origin", "https://evil.example")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 403 || resp.Header.Get("Content-Type") != "application/problem+json" {
		t.Fatalf("cross-site POST with the cookie: %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	// A body that is not JSON is refused before anything happens.
	if status, _, _ := do(t, "PATCH", n.base+"/api/rooms/root", "text/plain", `{"title":"x"}`, "Authorization", "Bearer "+root); status != 415 {
		t.Fatalf("text/plain PATCH: %d", status)
	}
}

// A room live without a record (dev mode) is shown as live, not as missing.
func TestLiveRoomWithoutRecord(t *testing.T) {
	n := startNode(t, nil)
	publishSynthetic(t, n, "devroom", "any-dev-key", 30, false)
	status, out, _ := api(t, n, "GET", "/api/rooms/devroom", "", nil)
	if status != 200 || out["live"] != true || out["title"] != "devroom" {
		t.Fatalf("dev room: %d %v", status, out)
	}
	if status, _, _ := api(t, n, "GET", "/api/rooms/nothing", "", nil); status != 404 {
		t.Fatalf("unknown room: %d", status)
	}
}
