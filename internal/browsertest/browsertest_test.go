package browsertest_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/onair-live/onair/clients/web"
	"github.com/onair-live/onair/internal/browsertest"
)

// request is what a fake WHIP/WHEP endpoint saw.
type request struct {
	Method, Path, Auth, ContentType, Body string
}

// recorder keeps the requests of a fake endpoint.
type recorder struct {
	mu   sync.Mutex
	reqs []request
}

func (r *recorder) add(req *http.Request) request {
	body, _ := io.ReadAll(req.Body)
	rec := request{req.Method, req.URL.Path, req.Header.Get("Authorization"), req.Header.Get("Content-Type"), string(body)}
	r.mu.Lock()
	r.reqs = append(r.reqs, rec)
	r.mu.Unlock()
	return rec
}

func (r *recorder) posts() []request {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []request
	for _, q := range r.reqs {
		if q.Method == http.MethodPost {
			out = append(out, q)
		}
	}
	return out
}

// pageServer serves web.FS the way the onair server does (the two pages for
// any room, assets under /static/) plus the given WHIP and WHEP handlers.
func pageServer(t *testing.T, whip, whep http.HandlerFunc) *httptest.Server {
	t.Helper()
	mux := http.NewServeMux()
	mux.HandleFunc("GET /studio/{room}", func(w http.ResponseWriter, r *http.Request) {
		http.ServeFileFS(w, r, web.FS, "studio.html")
	})
	mux.HandleFunc("GET /watch/{room}", func(w http.ResponseWriter, r *http.Request) {
		http.ServeFileFS(w, r, web.FS, "watch.html")
	})
	mux.Handle("GET /static/", http.FileServerFS(web.FS))
	if whip != nil {
		mux.HandleFunc("/whip/{room}", whip)
		mux.HandleFunc("/whip/{room}/{session}", whip)
	}
	if whep != nil {
		mux.HandleFunc("/whep/{room}", whep)
		mux.HandleFunc("/whep/{room}/{session}", whep)
	}
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv
}

func problem(w http.ResponseWriter, status int, title, detail string) {
	w.Header().Set("Content-Type", "application/problem+json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]any{"type": "about:blank", "title": title, "status": status, "detail": detail})
}

// fakeEndpoint answers OPTIONS with an ice-server Link (RFC 9725 §4.6) and
// every POST with the given problem.
func fakeEndpoint(rec *recorder, status int, title, detail string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		rec.add(r)
		switch r.Method {
		case http.MethodOptions:
			w.Header().Set("Allow", "OPTIONS, POST")
			w.WriteHeader(http.StatusNoContent)
		case http.MethodPost:
			problem(w, status, title, detail)
		default:
			problem(w, http.StatusMethodNotAllowed, "Method Not Allowed", "use POST")
		}
	}
}

// noOverflow fails when the page is wider than the viewport (a horizontal
// scrollbar on a phone).
func TestStudioShowsProblemDetail(t *testing.T) {
	const detail = "The media server is restarting; try again in a minute."
	var whip recorder
	srv := pageServer(t, fakeEndpoint(&whip, http.StatusServiceUnavailable, "Service Unavailable", detail), nil)

	browser := browsertest.Launch(t)
	tab := browsertest.NewTab(t, browser)
	browsertest.Navigate(t, tab, srv.URL+"/studio/x?autostart=1&key=k")

	st := browsertest.WaitState(t, tab, "", func(s map[string]any) bool {
		return s["status"] == "error"
	}, 20*time.Second)
	if got := browsertest.Str(st, "error"); !strings.Contains(got, detail) {
		t.Errorf("state.error = %q, want it to contain %q", got, detail)
	}
	shown := browsertest.Eval[string](t, tab, `document.getElementById('status-line').textContent`)
	if !strings.Contains(shown, detail) {
		t.Errorf("status line = %q, want it to contain %q", shown, detail)
	}

	posts := whip.posts()
	if len(posts) != 1 {
		t.Fatalf("WHIP POSTs = %d, want 1", len(posts))
	}
	p := posts[0]
	if p.Path != "/whip/x" || p.Auth != "Bearer k" || p.ContentType != "application/sdp" {
		t.Errorf("WHIP POST %s, Authorization %q, Content-Type %q; want /whip/x, \"Bearer k\", application/sdp", p.Path, p.Auth, p.ContentType)
	}
	for _, want := range []string{"m=video", "m=audio", "a=sendonly", "a=candidate:"} {
		if !strings.Contains(p.Body, want) {
			t.Errorf("WHIP offer lacks %q", want)
		}
	}
	if got := firstVideoCodec(p.Body); got != "VP8" {
		t.Errorf("first video codec of the offer = %q, want VP8 (the default)", got)
	}
	// The key from ?key= is remembered for the room.
	if got := browsertest.Eval[string](t, tab, `localStorage.getItem('onair.streamKey.x')`); got != "k" {
		t.Errorf("stored stream key = %q, want k", got)
	}
	browsertest.Screenshot(t, tab, "studio-error")

	// The same page on a phone.
	browsertest.Viewport(t, tab, 375, 800, true)
	browsertest.Navigate(t, tab, srv.URL+"/studio/x?autostart=1&key=k&codec=H264")
	browsertest.WaitState(t, tab, "", func(s map[string]any) bool { return s["status"] == "error" }, 20*time.Second)
	browsertest.NoSideScroll(t, tab)
	browsertest.Screenshot(t, tab, "studio-error-375")
	posts = whip.posts()
	if got := firstVideoCodec(posts[len(posts)-1].Body); got != "H264" {
		t.Errorf("with ?codec=H264 the first video codec of the offer = %q, want H264", got)
	}
}

func TestStudioGeneratesAndKeepsKey(t *testing.T) {
	var whip recorder
	srv := pageServer(t, fakeEndpoint(&whip, http.StatusUnauthorized, "Unauthorized", "unknown stream key"), nil)
	browser := browsertest.Launch(t)
	tab := browsertest.NewTab(t, browser)
	for range 2 {
		browsertest.Navigate(t, tab, srv.URL+"/studio/room-1?autostart=1")
		browsertest.WaitState(t, tab, "", func(s map[string]any) bool { return s["status"] == "error" }, 20*time.Second)
	}
	posts := whip.posts()
	if len(posts) != 2 {
		t.Fatalf("WHIP POSTs = %d, want 2", len(posts))
	}
	if !regexp.MustCompile(`^Bearer [a-z0-9]{24}$`).MatchString(posts[0].Auth) || posts[0].Auth != posts[1].Auth {
		t.Errorf("Authorization of two publishes = %q, %q; want the same generated key", posts[0].Auth, posts[1].Auth)
	}
}

func TestWatchOfflineOnPhone(t *testing.T) {
	var whep recorder
	srv := pageServer(t, nil, fakeEndpoint(&whep, http.StatusNotFound, "Not Found", "Room x is not live."))

	browser := browsertest.Launch(t)
	tab := browsertest.NewTab(t, browser)
	browsertest.Viewport(t, tab, 375, 800, true)
	browsertest.Navigate(t, tab, srv.URL+"/watch/x")

	browsertest.WaitState(t, tab, "", func(s map[string]any) bool { return s["status"] == "offline" }, 20*time.Second)
	msg := browsertest.Eval[string](t, tab, `document.getElementById('player-message').textContent`)
	if msg != "Offline — waiting for the stream" {
		t.Errorf("player message = %q", msg)
	}
	browsertest.NoSideScroll(t, tab)
	browsertest.Screenshot(t, tab, "watch-offline-375")

	// It retries by itself, and stays offline meanwhile.
	st := browsertest.WaitState(t, tab, "", func(s map[string]any) bool { return browsertest.Num(s, "attempts") >= 2 && len(whep.posts()) >= 2 }, 15*time.Second)
	if st["status"] != "offline" {
		t.Errorf("status during retries = %v, want offline", st["status"])
	}

	p := whep.posts()[0]
	if p.Path != "/whep/x" || p.Auth != "" || p.ContentType != "application/sdp" {
		t.Errorf("WHEP POST %s, Authorization %q, Content-Type %q; want /whep/x, none, application/sdp", p.Path, p.Auth, p.ContentType)
	}
	if v, a := mediaSections(p.Body, "video"), mediaSections(p.Body, "audio"); len(v) != 4 || len(a) != 4 {
		t.Errorf("WHEP offer has %d video and %d audio m-lines, want 4 and 4", len(v), len(a))
	} else {
		for _, s := range append(v, a...) {
			if !strings.Contains(s, "a=recvonly") {
				t.Errorf("WHEP m-section is not recvonly:\n%s", s)
			}
		}
	}
	if !strings.Contains(p.Body, "m=application") {
		t.Error("WHEP offer has no m=application (the room data channel)")
	}
}

// mediaSections returns the m-sections of an SDP of one kind.
func mediaSections(sdp, kind string) []string {
	var out []string
	parts := strings.Split(strings.ReplaceAll(sdp, "\r\n", "\n"), "\nm=")
	for _, p := range parts[1:] {
		if strings.HasPrefix(p, kind+" ") {
			out = append(out, "m="+p)
		}
	}
	return out
}

// firstVideoCodec returns the codec name of the first payload type of the
// first video m-line.
func firstVideoCodec(sdp string) string {
	v := mediaSections(sdp, "video")
	if len(v) == 0 {
		return ""
	}
	fields := strings.Fields(strings.SplitN(v[0], "\n", 2)[0])
	if len(fields) < 4 {
		return ""
	}
	m := regexp.MustCompile(`a=rtpmap:` + fields[3] + ` ([A-Za-z0-9-]+)/`).FindStringSubmatch(v[0])
	if m == nil {
		return ""
	}
	return m[1]
}
