package e2e

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"image"
	"image/png"
	"io"
	"math"
	"mime/multipart"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/onair-live/onair/cmd/onair/app"
	"github.com/onair-live/onair/room"
)

// speechAMR is a 3.5 s AMR-NB voice clip made by GStreamer (see
// media/voice/testdata/make-fixtures.sh).
func speechAMR(t testing.TB) []byte {
	t.Helper()
	b, err := os.ReadFile("../media/voice/testdata/speech-nb.amr")
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// uploadVoice posts data as the multipart field "audio" to /api/voice?query.
func uploadVoice(t testing.TB, n *node, token, query, filename, ctype string, data []byte) (int, map[string]any) {
	t.Helper()
	var body bytes.Buffer
	w := multipart.NewWriter(&body)
	h := make(map[string][]string)
	h["Content-Disposition"] = []string{fmt.Sprintf(`form-data; name="audio"; filename=%q`, filename)}
	h["Content-Type"] = []string{ctype}
	part, err := w.CreatePart(h)
	if err != nil {
		t.Fatal(err)
	}
	_, _ = part.Write(data)
	_ = w.Close()
	req, _ := http.NewRequest("POST", n.base+"/api/voice?"+query, &body)
	req.Header.Set("Content-Type", w.FormDataContentType())
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]any
	b, _ := io.ReadAll(resp.Body)
	_ = json.Unmarshal(b, &out)
	return resp.StatusCode, out
}

// fetchVoice GETs a clip; hdr are extra header name/value pairs.
func fetchVoice(t testing.TB, n *node, token, id string, hdr ...string) (int, http.Header, []byte) {
	t.Helper()
	if token != "" {
		hdr = append(hdr, "Authorization", "Bearer "+token)
	}
	status, h, body := do(t, "GET", n.base+"/api/voice/"+id, "", "", hdr...)
	return status, h, []byte(body)
}

// probeOgg is what ffprobe says of an Ogg file: its codec, channels, length.
func probeOgg(t testing.TB, data []byte) (codec string, channels int, dur time.Duration) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "clip.ogg")
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command("ffprobe", "-v", "error", "-print_format", "json", "-show_format", "-show_streams", path).Output()
	if err != nil {
		t.Fatalf("ffprobe: %v", err)
	}
	var p struct {
		Format struct {
			Duration string `json:"duration"`
		} `json:"format"`
		Streams []struct {
			CodecName string `json:"codec_name"`
			Channels  int    `json:"channels"`
		} `json:"streams"`
	}
	if err := json.Unmarshal(out, &p); err != nil || len(p.Streams) != 1 {
		t.Fatalf("ffprobe said %s (%v)", out, err)
	}
	secs, err := strconv.ParseFloat(p.Format.Duration, 64)
	if err != nil {
		t.Fatalf("ffprobe's duration %q", p.Format.Duration)
	}
	return p.Streams[0].CodecName, p.Streams[0].Channels, time.Duration(secs * float64(time.Second))
}

// voiceState is what a node keeps of voice messages: the clip files and the
// rows of voice_clips.
func voiceState(t testing.TB, n *node) (files, rows int) {
	t.Helper()
	entries, err := os.ReadDir(filepath.Join(n.cfg.Data, "voice"))
	if err != nil {
		t.Fatal(err)
	}
	files = len(entries)
	db, err := sql.Open("sqlite", "file:"+filepath.Join(n.cfg.Data, "onair.db")+"?mode=ro")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if err := db.QueryRow("SELECT COUNT(*) FROM voice_clips").Scan(&rows); err != nil {
		t.Fatal(err)
	}
	return files, rows
}

// A voice message in a room: upload the clip, post its id on the room's
// socket, everyone in the room gets it with the clip's length, and anyone
// may fetch the Ogg/Opus (ranges too). Refusals are problems that say why and
// leave nothing behind.
func TestVoiceMessageInRoom(t *testing.T) {
	n := startNode(t, nil)
	createUser(t, n, "talker", "viewer", "talker-password")
	token := login(t, n, "talker", "talker-password")
	reader := dialRoom(t, n, "lounge", "", "")
	talker := dialRoom(t, n, "lounge", token, "")
	time.Sleep(100 * time.Millisecond) // both joined before the first message

	status, clip := uploadVoice(t, n, token, "room=lounge", "voice.amr", "audio/amr", speechAMR(t))
	if status != 201 || clip["room"] != "lounge" || clip["url"] != "/api/voice/"+fmt.Sprint(clip["id"]) {
		t.Fatalf("upload: %d %v", status, clip)
	}
	// The fixture is AMR-NB at 12.2 kbit/s: 32-byte frames of 20 ms after the 6-byte header.
	frames := (len(speechAMR(t)) - 6) / 32
	id, ms := clip["id"].(string), clip["duration_ms"].(float64)
	if math.Abs(ms-float64(frames*20)) > 200 {
		t.Fatalf("the clip lasts %v ms, want about %d", ms, frames*20)
	}
	talker.send(t, "voice", map[string]any{"id": id, "duration_ms": 1})
	got := reader.next(t, "voice")
	var body room.VoiceBody
	if err := json.Unmarshal(got.Body, &body); err != nil || body.ID != id || float64(body.DurationMS) != ms || got.From.Name != "talker" {
		t.Fatalf("the reader got %+v (body %s)", got, got.Body)
	}
	talker.next(t, "voice") // the sender's own socket gets it too

	// Anyone may fetch a public room's clip: Ogg/Opus, mono, the right length.
	status, hdr, audio := fetchVoice(t, n, "", id)
	if status != 200 || hdr.Get("Content-Type") != "audio/ogg" || int64(len(audio)) != int64(clip["bytes"].(float64)) || hdr.Get("Accept-Ranges") != "bytes" {
		t.Fatalf("GET: %d %v, %d bytes", status, hdr, len(audio))
	}
	codec, channels, dur := probeOgg(t, audio)
	if codec != "opus" || channels != 1 || math.Abs(float64(dur.Milliseconds())-ms) > 200 {
		t.Fatalf("the clip is %s, %d channels, %v", codec, channels, dur)
	}
	status, hdr, part := fetchVoice(t, n, "", id, "Range", "bytes=100-199")
	if status != 206 || len(part) != 100 || !bytes.Equal(part, audio[100:200]) || hdr.Get("Content-Range") != fmt.Sprintf("bytes 100-199/%d", len(audio)) {
		t.Fatalf("range: %d %v, %d bytes", status, hdr, len(part))
	}
	if status, _, _ := fetchVoice(t, n, "", id, "If-None-Match", hdr.Get("ETag")); status != 304 {
		t.Fatalf("If-None-Match its ETag: %d", status)
	}
	// The room's history keeps the voice message.
	_, hist, _ := api(t, n, "GET", "/api/rooms/lounge/messages", "", nil)
	if !strings.Contains(fmt.Sprint(hist["messages"]), id) {
		t.Fatalf("history %v lacks the voice message", hist)
	}

	// A voice message needs a clip of the sender's, made for this room.
	talker.send(t, "voice", map[string]any{"id": "01HZXKQ5D2M7W8V9AB3C4D5E6F"})
	if e := talker.next(t, "error"); errorCode(e) != "bad_message" || !strings.Contains(string(e.Body), "upload it first") {
		t.Fatalf("an unknown clip: %s", e.Body)
	}
	other := dialRoom(t, n, "elsewhere", token, "")
	time.Sleep(100 * time.Millisecond)
	other.send(t, "voice", map[string]any{"id": id})
	if e := other.next(t, "error"); !strings.Contains(string(e.Body), "recorded for another conversation") {
		t.Fatalf("a clip of another room: %s", e.Body)
	}

	// Refusals: a problem in words, no file and no row left.
	nb := speechAMR(t)
	long := append([]byte("#!AMR\n"), bytes.Repeat(nb[6:], 22)...) // 22 × 3.54 s = 77.9 s
	longSays := fmt.Sprintf("too long: %.1f s, the limit is 60 s", float64(22*frames)*0.020)
	big := append([]byte("#!AMR\n"), bytes.Repeat(nb[6:], 240)...) // 1.3 MiB
	files, rows := voiceState(t, n)
	for _, c := range []struct {
		name, token, query, file, ctype string
		data                            []byte
		status                          int
		detail                          string
	}{
		{"not audio", token, "room=lounge", "notes.txt", "text/plain", []byte("see you at 8\n"), 415, "not audio: this is text"},
		{"a PNG renamed .amr", token, "room=lounge", "voice.amr", "audio/amr", pngFile(t), 415, "a PNG is not an AMR file"},
		{"truncated AMR", token, "room=lounge", "voice.amr", "audio/amr", nb[:9], 422, "truncated AMR-NB: ffprobe could not read it"},
		{"too long", token, "room=lounge", "voice.amr", "audio/amr", long, 422, longSays},
		{"too big", token, "room=lounge", "voice.amr", "audio/amr", big, 413, "too big: 1.3 MiB, the limit is 1 MiB"},
		{"unauthenticated", "", "room=lounge", "voice.amr", "audio/amr", nb, 401, "log in"},
		{"nowhere", token, "", "voice.amr", "audio/amr", nb, 400, "?room=<room> or ?to=<user name>"},
		{"a bad room", token, "room=No%20Such", "voice.amr", "audio/amr", nb, 400, ""},
		{"to nobody", token, "to=nobody", "voice.amr", "audio/amr", nb, 404, ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			status, out := uploadVoice(t, n, c.token, c.query, c.file, c.ctype, c.data)
			if status != c.status || !strings.Contains(fmt.Sprint(out["detail"]), c.detail) {
				t.Fatalf("got %d %v, want %d saying %q", status, out, c.status, c.detail)
			}
			if f, r := voiceState(t, n); f != files || r != rows {
				t.Fatalf("left behind: %d files and %d rows, want %d and %d", f, r, files, rows)
			}
		})
	}
	// Without a Content-Length (chunked), the size is found while reading.
	var form bytes.Buffer
	w := multipart.NewWriter(&form)
	fw, _ := w.CreateFormFile("audio", "voice.amr")
	_, _ = fw.Write(big)
	_ = w.Close()
	req, _ := http.NewRequest("POST", n.base+"/api/voice?room=lounge", io.MultiReader(&form)) // a reader of unknown length
	req.Header.Set("Content-Type", w.FormDataContentType())
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 413 || req.ContentLength != 0 || !strings.Contains(string(b), "too big: more than 1 MiB, the limit is 1 MiB") {
		t.Fatalf("a chunked upload of 1.3 MiB: %d %s", resp.StatusCode, b)
	}
	if f, r := voiceState(t, n); f != files || r != rows {
		t.Fatalf("the chunked upload left %d files and %d rows, want %d and %d", f, r, files, rows)
	}
	if status, _, _ := do(t, "POST", n.base+"/api/voice?room=lounge", "audio/amr", string(nb), "Authorization", "Bearer "+token); status != 415 {
		t.Fatalf("a bare body instead of a form: %d", status)
	}
	if status, _, _ := fetchVoice(t, n, "", "01HZXKQ5D2M7W8V9AB3C4D5E6F"); status != 404 {
		t.Fatalf("an unknown clip: %d", status)
	}
	if status, _, _ := fetchVoice(t, n, "", "..%2F..%2Fonair.db"); status != 404 {
		t.Fatalf("a path for an id: %d", status)
	}
}

func pngFile(t testing.TB) []byte {
	var b bytes.Buffer
	if err := png.Encode(&b, image.NewRGBA(image.Rect(0, 0, 32, 32))); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// A private voice message: uploaded for one person, sent as a DM, heard by
// its two people only; a private room's clips need a login.
func TestVoiceMessageInDM(t *testing.T) {
	n := startNode(t, func(c *app.Config) { c.Dev = false })
	for _, u := range []string{"alice", "bob", "eve"} {
		createUser(t, n, u, "viewer", u+"-password")
	}
	createUser(t, n, "star", "streamer", "star-password")
	alice, bob, eve, star := login(t, n, "alice", "alice-password"), login(t, n, "bob", "bob-password"),
		login(t, n, "eve", "eve-password"), login(t, n, "star", "star-password")
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	conn, _, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(n.base, "http")+"/ws/me?token="+bob, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.CloseNow()
	time.Sleep(100 * time.Millisecond)

	_, ogg := mediaFiles(t) // 2 s of Ogg/Opus, as a browser may record
	status, clip := uploadVoice(t, n, alice, "to=bob", "voice.ogg", "audio/ogg;codecs=opus", readFile(t, ogg))
	if status != 201 || clip["to"] != "bob" || math.Abs(clip["duration_ms"].(float64)-2000) > 200 {
		t.Fatalf("upload: %d %v", status, clip)
	}
	id := clip["id"].(string)
	// The clip is not for eve, and not for a room.
	for _, to := range []string{"eve"} {
		if status, out, _ := api(t, n, "POST", "/api/dm/"+to, alice, map[string]any{"voice": map[string]string{"id": id}}); status != 400 || !strings.Contains(fmt.Sprint(out["detail"]), "another conversation") {
			t.Fatalf("bob's clip sent to %s: %d %v", to, status, out)
		}
	}
	status, out, _ := api(t, n, "POST", "/api/dm/bob", alice, map[string]any{"voice": map[string]string{"id": id}})
	if status != 201 {
		t.Fatalf("send: %d %v", status, out)
	}
	_, data, err := conn.Read(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var batch []room.Envelope
	var body room.DMBody
	if err := json.Unmarshal(data, &batch); err != nil || len(batch) != 1 || batch[0].Type != "dm" || json.Unmarshal(batch[0].Body, &body) != nil ||
		body.Voice == nil || body.Voice.ID != id || float64(body.Voice.DurationMS) != clip["duration_ms"].(float64) {
		t.Fatalf("bob's live frame %s", data)
	}
	_, hist, _ := api(t, n, "GET", "/api/dm/alice", bob, nil)
	msgs := hist["messages"].([]any)
	if v, _ := msgs[0].(map[string]any)["voice"].(map[string]any); len(msgs) != 1 || v["id"] != id || msgs[0].(map[string]any)["text"] != "" {
		t.Fatalf("bob's history %v", hist)
	}
	_, convs, _ := api(t, n, "GET", "/api/dm", alice, nil)
	if !strings.Contains(fmt.Sprint(convs), id) {
		t.Fatalf("alice's conversations %v do not show the voice message as the last", convs)
	}

	// Its two people may hear it; nobody else.
	for _, c := range []struct {
		who, token string
		status     int
	}{{"alice", alice, 200}, {"bob", bob, 200}, {"eve", eve, 403}, {"anonymous", "", 401}} {
		if status, _, _ := fetchVoice(t, n, c.token, id); status != c.status {
			t.Errorf("%s fetched the DM clip: %d, want %d", c.who, status, c.status)
		}
	}
	// A recipient who blocks the sender gets no clips from them.
	if status, _, _ := api(t, n, "POST", "/api/users/alice/block", bob, nil); status != 204 {
		t.Fatalf("block: %d", status)
	}
	if status, out := uploadVoice(t, n, alice, "to=bob", "voice.ogg", "audio/ogg", readFile(t, ogg)); status != 403 || !strings.Contains(fmt.Sprint(out["detail"]), "does not accept") {
		t.Fatalf("upload to a user who blocks me: %d %v", status, out)
	}

	// A private room's clips need a login.
	if status, out, _ := api(t, n, "PATCH", "/api/rooms/star", star, map[string]any{"private": true}); status != 200 {
		t.Fatalf("make private: %d %v", status, out)
	}
	status, clip = uploadVoice(t, n, eve, "room=star", "voice.amr", "audio/amr", speechAMR(t))
	if status != 201 {
		t.Fatalf("upload to a private room: %d %v", status, clip)
	}
	if status, _, _ := fetchVoice(t, n, "", clip["id"].(string)); status != 401 {
		t.Fatalf("anonymous GET of a private room's clip: %d", status)
	}
	if status, _, _ := fetchVoice(t, n, bob, clip["id"].(string)); status != 200 {
		t.Fatalf("a logged-in GET of a private room's clip: %d", status)
	}
}

func readFile(t testing.TB, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
