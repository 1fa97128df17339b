package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"image/jpeg"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	client "github.com/onair-live/onair/clients/go"
	"github.com/onair-live/onair/cmd/onair/app"
)

// egressNode is a node whose egress makes 1 s segments and a snapshot every
// snapshotEvery.
func egressNode(t *testing.T, edit func(*app.Config)) *node {
	return startNode(t, func(c *app.Config) {
		c.Egress.SegmentDuration = time.Second
		c.Egress.SnapshotInterval = snapshotEvery
		if edit != nil {
			edit(c)
		}
	})
}

const snapshotEvery = 4 * time.Second

var (
	sourcesOnce sync.Once
	sourceFiles struct{ vp8, h264, ogg string }
	sourcesErr  error
)

// sources720 makes 4 s of 1280x720 30 fps video (VP8 in IVF, H.264 baseline
// Annex-B, both a keyframe a second, with noise so encoders have work) and
// Ogg/Opus. They are made once and kept in the temp folder for later runs
// (a new folder is renamed into place whole, so a run sees all or none).
func sources720(t *testing.T) (vp8, h264, ogg string) {
	t.Helper()
	sourcesOnce.Do(func() {
		dir := filepath.Join(os.TempDir(), "onair-egress-sources-v1")
		names := [3]string{"v.ivf", "v.h264", "a.ogg"}
		sourceFiles.vp8, sourceFiles.h264, sourceFiles.ogg = filepath.Join(dir, names[0]), filepath.Join(dir, names[1]), filepath.Join(dir, names[2])
		if _, err := os.Stat(sourceFiles.ogg); err == nil {
			return
		}
		tmp, err := os.MkdirTemp("", "onair-egress-sources-")
		if err != nil {
			sourcesErr = err
			return
		}
		defer os.RemoveAll(tmp)
		src := []string{"-f", "lavfi", "-i", "testsrc2=size=1280x720:rate=30", "-vf", "noise=alls=12:allf=t", "-t", "4"}
		for _, args := range [][]string{
			append(src, "-c:v", "libvpx", "-deadline", "realtime", "-cpu-used", "8", "-b:v", "2M", "-g", "30", "-keyint_min", "30", filepath.Join(tmp, names[0])),
			append(src, "-c:v", "libx264", "-preset", "veryfast", "-profile:v", "baseline", "-tune", "zerolatency", "-b:v", "2M", "-g", "30",
				"-bsf:v", "h264_mp4toannexb", "-f", "h264", filepath.Join(tmp, names[1])),
			{"-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000", "-t", "4", "-c:a", "libopus", "-b:a", "64k", filepath.Join(tmp, names[2])},
		} {
			if out, err := exec.Command("ffmpeg", append([]string{"-hide_banner", "-loglevel", "error", "-y"}, args...)...).CombinedOutput(); err != nil {
				sourcesErr = fmt.Errorf("ffmpeg %v: %v\n%s (install ffmpeg: apt-get install ffmpeg)", args, err, out)
				return
			}
		}
		if err := os.Rename(tmp, dir); err != nil {
			if _, serr := os.Stat(sourceFiles.ogg); serr != nil { // not another run's folder in place
				sourcesErr = err
			}
		}
	})
	if sourcesErr != nil {
		t.Fatal(sourcesErr)
	}
	return sourceFiles.vp8, sourceFiles.h264, sourceFiles.ogg
}

// publishFiles goes live in room with the looped files: VP8 (.ivf) or H.264
// video, and Opus.
func publishFiles(t *testing.T, n *node, room, key, video, audio string) *client.Publisher {
	t.Helper()
	var v client.Source
	var err error
	if strings.HasSuffix(video, ".ivf") {
		v, err = client.OpenIVF(video)
	} else {
		v, err = client.OpenH264(video, 30)
	}
	if err != nil {
		t.Fatal(err)
	}
	a, err := client.OpenOgg(audio)
	if err != nil {
		t.Fatal(err)
	}
	p, err := client.Publish(testContext(t, 20*time.Second), n.opts(room, key), v, a)
	if err != nil {
		t.Fatalf("publish %s: %v", room, err)
	}
	t.Cleanup(func() { _ = p.Close() })
	return p
}

type probedStream struct {
	CodecType string `json:"codec_type"`
	CodecName string `json:"codec_name"`
	Profile   string `json:"profile"`
	Width     int    `json:"width"`
	Height    int    `json:"height"`
}

// probe is ffprobe's list of the streams at url; headers are extra HTTP
// request headers ("Name: value\r\n...").
func probe(t *testing.T, url, headers string) ([]probedStream, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	args := []string{"-v", "error", "-print_format", "json", "-show_streams"}
	if headers != "" {
		args = append(args, "-headers", headers)
	}
	cmd := exec.CommandContext(ctx, "ffprobe", append(args, url)...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("ffprobe %s: %v: %s", url, err, stderr.String())
	}
	var doc struct{ Streams []probedStream }
	if err := json.Unmarshal(out, &doc); err != nil {
		return nil, err
	}
	return doc.Streams, nil
}

func streamOf(ss []probedStream, kind string) probedStream {
	for _, s := range ss {
		if s.CodecType == kind {
			return s
		}
	}
	return probedStream{}
}

// playlistSegments are the media segments a playlist lists now.
func playlistSegments(t *testing.T, n *node, room string) []string {
	status, _, body := do(t, "GET", n.base+"/hls/"+room+"/index.m3u8", "", "")
	if status != 200 {
		return nil
	}
	var segs []string
	for _, l := range strings.Split(body, "\n") {
		if l = strings.TrimSpace(l); l != "" && !strings.HasPrefix(l, "#") {
			segs = append(segs, l)
		}
	}
	return segs
}

// ffmpegOf finds the ffmpeg processes whose arguments name what.
func ffmpegOf(what string) []int {
	var pids []int
	dirs, _ := os.ReadDir("/proc")
	for _, d := range dirs {
		pid, err := strconv.Atoi(d.Name())
		if err != nil {
			continue
		}
		b, err := os.ReadFile(filepath.Join("/proc", d.Name(), "cmdline"))
		if err != nil {
			continue
		}
		args := strings.Split(string(b), "\x00")
		if filepath.Base(args[0]) == "ffmpeg" && strings.Contains(string(b), what) && alive(pid) {
			pids = append(pids, pid)
		}
	}
	return pids
}

// alive: the process exists and is not a zombie.
func alive(pid int) bool {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return false
	}
	f := strings.Fields(string(b[bytes.LastIndexByte(b, ')')+1:]))
	return len(f) > 0 && f[0] != "Z" && f[0] != "X"
}

func cmdline(pid int) string {
	b, _ := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
	return strings.ReplaceAll(string(b), "\x00", " ")
}

// cpuOf is the CPU time (user+system) a process has used so far.
func cpuOf(t *testing.T, pid int) time.Duration {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		t.Fatal(err)
	}
	f := strings.Fields(string(b[bytes.LastIndexByte(b, ')')+1:]))
	utime, _ := strconv.ParseInt(f[11], 10, 64) // fields 14 and 15 of proc(5)
	stime, _ := strconv.ParseInt(f[12], 10, 64)
	const ticks = 100 // sysconf(_SC_CLK_TCK) on Linux
	return time.Duration(utime+stime) * time.Second / ticks
}

// roomJob is the room job's ffmpeg (HLS and snapshots) of a room on n.
func roomJob(n *node, room string) []int {
	return ffmpegOf(filepath.Join(n.cfg.Data, "egress", room+"-"))
}

// waitPlayable waits for the room's playlist to list a segment and for
// ffprobe to read it; it returns the streams and when the segment appeared.
func waitPlayable(t *testing.T, n *node, room string, within time.Duration) ([]probedStream, time.Time) {
	t.Helper()
	var listed time.Time
	eventually(t, within, "a segment in "+room+"'s playlist", func() bool {
		time.Sleep(80 * time.Millisecond)
		return len(playlistSegments(t, n, room)) > 0
	})
	listed = time.Now()
	ss, err := probe(t, n.base+"/hls/"+room+"/index.m3u8", "")
	if err != nil {
		t.Fatal(err)
	}
	return ss, listed
}

type snapshotSeen struct {
	at            time.Time
	width, height int
	err           error
}

// firstSnapshot polls a room's snapshot from now on and reports the first
// JPEG it gets (or an error after 20 s).
func firstSnapshot(t *testing.T, n *node, room string) <-chan snapshotSeen {
	out := make(chan snapshotSeen, 1)
	go func() {
		deadline := time.Now().Add(20 * time.Second)
		for time.Now().Before(deadline) {
			resp, err := http.Get(n.base + "/api/rooms/" + room + "/snapshot.jpg")
			if err == nil {
				body, _ := io.ReadAll(resp.Body)
				_ = resp.Body.Close()
				if resp.StatusCode == 200 && resp.Header.Get("Content-Type") == "image/jpeg" {
					at := time.Now()
					img, err := jpeg.DecodeConfig(bytes.NewReader(body))
					out <- snapshotSeen{at: at, width: img.Width, height: img.Height, err: err}
					return
				}
			}
			time.Sleep(100 * time.Millisecond)
		}
		out <- snapshotSeen{err: fmt.Errorf("no snapshot of %s in 20 s", room)}
	}()
	return out
}

// A VP8 + Opus publisher becomes H.264 + AAC HLS within seconds, served with
// the right types and caching, with a snapshot of the right size; it is gone
// when the room ends.
func TestHLSFromVP8(t *testing.T) {
	vp8, _, ogg := sources720(t)
	n := egressNode(t, nil)
	if status, _, _ := do(t, "GET", n.base+"/hls/hlsvp8/index.m3u8", "", ""); status != 404 {
		t.Fatalf("HLS of a room that is not live: %d, want 404", status)
	}
	p := publishFiles(t, n, "hlsvp8", "k-hlsvp8-key", vp8, ogg)
	live := time.Now()
	snap := firstSnapshot(t, n, "hlsvp8")
	ss, listed := waitPlayable(t, n, "hlsvp8", 30*time.Second)
	t.Logf("FIGURE going live → first playable HLS segment (VP8 → H.264 transcode): %v", listed.Sub(live).Round(10*time.Millisecond))
	v, a := streamOf(ss, "video"), streamOf(ss, "audio")
	if v.CodecName != "h264" || v.Width != 1280 || v.Height != 720 || a.CodecName != "aac" {
		t.Fatalf("HLS streams %+v, want H.264 1280x720 and AAC", ss)
	}

	status, hdr, body := do(t, "GET", n.base+"/hls/hlsvp8/index.m3u8", "", "")
	if status != 200 || hdr.Get("Content-Type") != "application/vnd.apple.mpegurl" || !strings.Contains(hdr.Get("Cache-Control"), "no-cache") ||
		!strings.Contains(body, "#EXT-X-MAP:URI=\"init-") || !strings.Contains(body, "#EXT-X-TARGETDURATION:1") || strings.Contains(body, "#EXT-X-ENDLIST") {
		t.Fatalf("playlist: %d %v\n%s", status, hdr, body)
	}
	init := body[strings.Index(body, "init-"):]
	init = init[:strings.IndexByte(init, '"')]
	segs := playlistSegments(t, n, "hlsvp8")
	for name, ctype := range map[string]string{init: "video/mp4", segs[len(segs)-1]: "video/iso.segment"} {
		status, hdr, body := do(t, "GET", n.base+"/hls/hlsvp8/"+name, "", "")
		if status != 200 || hdr.Get("Content-Type") != ctype || hdr.Get("Cache-Control") != "public, max-age=31536000, immutable" || len(body) == 0 {
			t.Fatalf("%s: %d %v (%d bytes)", name, status, hdr, len(body))
		}
	}
	for _, bad := range []string{"index.m3u8.tmp", "..%2Fsnapshot.jpg", "snapshot.jpg", "x.m4s"} {
		if status, _, _ := do(t, "GET", n.base+"/hls/hlsvp8/"+bad, "", ""); status != 404 {
			t.Errorf("GET /hls/hlsvp8/%s: %d, want 404", bad, status)
		}
	}

	// A JPEG 640 wide (the 1280x720 picture scaled) within two intervals.
	shot := <-snap
	if shot.err != nil || shot.at.Sub(live) > 2*snapshotEvery {
		t.Fatalf("first snapshot %v after going live (%v), want within %v", shot.at.Sub(live), shot.err, 2*snapshotEvery)
	}
	if shot.width != 640 || shot.height != 360 {
		t.Fatalf("snapshot %dx%d, want 640x360", shot.width, shot.height)
	}
	t.Logf("FIGURE going live → first snapshot: %v", shot.at.Sub(live).Round(10*time.Millisecond))

	// The room ends: HLS and snapshot are gone, and so are ffmpeg and its files.
	_ = p.Close()
	eventually(t, 15*time.Second, "HLS to end with the room", func() bool {
		status, _, _ := do(t, "GET", n.base+"/hls/hlsvp8/index.m3u8", "", "")
		return status == 404
	})
	if status, _, _ := do(t, "GET", n.base+"/api/rooms/hlsvp8/snapshot.jpg", "", ""); status != 404 {
		t.Fatalf("snapshot after the room ended: %d", status)
	}
	eventually(t, 10*time.Second, "ffmpeg to stop and the folder to go", func() bool {
		left, _ := filepath.Glob(filepath.Join(n.cfg.Data, "egress", "hlsvp8-*"))
		return len(roomJob(n, "hlsvp8")) == 0 && len(left) == 0
	})
}

// An H.264 publisher's video reaches HLS as it is: not re-encoded.
func TestHLSFromH264IsCopied(t *testing.T) {
	_, h264, ogg := sources720(t)
	n := egressNode(t, nil)
	publishFiles(t, n, "hlsh264", "k-hlsh264-key", h264, ogg)
	live := time.Now()
	snap := firstSnapshot(t, n, "hlsh264")
	ss, listed := waitPlayable(t, n, "hlsh264", 30*time.Second)
	t.Logf("FIGURE going live → first playable HLS segment (H.264 copied): %v", listed.Sub(live).Round(10*time.Millisecond))
	v, a := streamOf(ss, "video"), streamOf(ss, "audio")
	// x264 would make High profile; the publisher's Constrained Baseline
	// arriving unchanged means the video was copied.
	if v.CodecName != "h264" || v.Profile != "Constrained Baseline" || v.Width != 1280 || a.CodecName != "aac" {
		t.Fatalf("HLS streams %+v, want the publisher's Constrained Baseline 1280x720 H.264 and AAC", ss)
	}
	pids := roomJob(n, "hlsh264")
	if len(pids) != 1 {
		t.Fatalf("room job processes %v", pids)
	}
	if args := cmdline(pids[0]); !strings.Contains(args, "-c:v copy") || strings.Contains(args, "libx264") {
		t.Fatalf("ffmpeg for an H.264 room runs %s", args)
	}
	// Its snapshots come from keyframes alone.
	if shot := <-snap; shot.err != nil || shot.width != 640 || shot.at.Sub(live) > 2*snapshotEvery {
		t.Fatalf("snapshot %+v after %v", shot, shot.at.Sub(live))
	}
}

// With segment_type mpegts the playlist lists MPEG-TS segments, served as
// video/mp2t.
func TestHLSMPEGTS(t *testing.T) {
	_, h264, ogg := sources720(t)
	n := egressNode(t, func(c *app.Config) { c.Egress.SegmentType = "mpegts" })
	publishFiles(t, n, "tsroom", "k-tsroom-key", h264, ogg)
	ss, _ := waitPlayable(t, n, "tsroom", 30*time.Second)
	if v, a := streamOf(ss, "video"), streamOf(ss, "audio"); v.CodecName != "h264" || v.Profile != "Constrained Baseline" || a.CodecName != "aac" {
		t.Fatalf("HLS streams %+v", ss)
	}
	segs := playlistSegments(t, n, "tsroom")
	status, hdr, body := do(t, "GET", n.base+"/hls/tsroom/"+segs[0], "", "")
	if !strings.HasSuffix(segs[0], ".ts") || status != 200 || hdr.Get("Content-Type") != "video/mp2t" || len(body) == 0 || body[0] != 0x47 {
		t.Fatalf("segment %s: %d %v", segs[0], status, hdr)
	}
}

// ffmpeg killed mid-broadcast is started again and HLS goes on.
func TestEgressRestartsKilledFFmpeg(t *testing.T) {
	vp8, _, ogg := sources720(t)
	n := egressNode(t, nil)
	publishFiles(t, n, "phoenix", "k-phoenix-key", vp8, ogg)
	snap := firstSnapshot(t, n, "phoenix")
	waitPlayable(t, n, "phoenix", 30*time.Second)
	if shot := <-snap; shot.err != nil { // the next run writes over it
		t.Fatal(shot.err)
	}
	pids := roomJob(n, "phoenix")
	if len(pids) != 1 {
		t.Fatalf("room job processes %v", pids)
	}
	before := playlistSegments(t, n, "phoenix")
	if err := syscall.Kill(pids[0], syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	killed := time.Now()
	var again []int
	eventually(t, 15*time.Second, "a new ffmpeg", func() bool {
		again = roomJob(n, "phoenix")
		return len(again) == 1 && again[0] != pids[0]
	})
	var after []string
	eventually(t, 30*time.Second, "HLS to resume with new segments", func() bool {
		after = playlistSegments(t, n, "phoenix")
		return len(after) > 0 && !strings.Contains(strings.Join(before, " "), after[len(after)-1])
	})
	t.Logf("FIGURE ffmpeg killed → HLS resumed in %v", time.Since(killed).Round(10*time.Millisecond))
	ss, err := probe(t, n.base+"/hls/phoenix/index.m3u8", "")
	if err != nil || streamOf(ss, "video").CodecName != "h264" || streamOf(ss, "audio").CodecName != "aac" {
		t.Fatalf("after the restart: %+v %v", ss, err)
	}
	// The new run names its own files, so cached segments stay true.
	if strings.Split(after[0], "-")[0] == strings.Split(before[0], "-")[0] {
		t.Fatalf("the new run reuses the old run's names: %v then %v", before, after)
	}
}

// A private room's HLS and snapshot are for logged-in users only.
func TestHLSPrivateRoom(t *testing.T) {
	vp8, _, ogg := sources720(t)
	n := egressNode(t, nil)
	u := createUser(t, n, "shy", "streamer", "correct-horse-9")
	tok := login(t, n, "shy", "correct-horse-9")
	if status, out, _ := api(t, n, "PATCH", "/api/rooms/shy", tok, map[string]any{"private": true}); status != 200 {
		t.Fatalf("make private: %d %v", status, out)
	}
	publishFiles(t, n, "shy", u["stream_key"], vp8, ogg)
	eventually(t, 30*time.Second, "the private playlist for its streamer", func() bool {
		status, _, _ := do(t, "GET", n.base+"/hls/shy/index.m3u8", "", "", "Authorization", "Bearer "+tok)
		return status == 200
	})
	for _, path := range []string{"/hls/shy/index.m3u8", "/api/rooms/shy/snapshot.jpg"} {
		status, _, body := do(t, "GET", n.base+path, "", "")
		if status != 401 || !strings.Contains(body, "private") {
			t.Fatalf("anonymous GET %s: %d %s", path, status, body)
		}
	}
	status, hdr, _ := do(t, "GET", n.base+"/hls/shy/index.m3u8", "", "", "Cookie", "onair_session="+tok)
	if status != 200 || hdr.Get("Cache-Control") != "private, no-cache" || hdr.Get("Access-Control-Allow-Origin") != "" {
		t.Fatalf("with the session cookie: %d %v", status, hdr)
	}
	// A player that is no browser sends the token as a header.
	if ss, err := probe(t, n.base+"/hls/shy/index.m3u8", "Authorization: Bearer "+tok+"\r\n"); err != nil || streamOf(ss, "video").CodecName != "h264" {
		t.Fatalf("ffprobe with the token: %+v %v", ss, err)
	}
}

// startNginxRTMP runs nginx with the RTMP module on a free loopback port, in
// its own folder, and stops it when the test ends.
func startNginxRTMP(t *testing.T) int {
	t.Helper()
	nginx, err := exec.LookPath("nginx")
	const module = "/usr/lib/nginx/modules/ngx_rtmp_module.so"
	if _, merr := os.Stat(module); err != nil || merr != nil {
		t.Fatalf("nginx with the RTMP module is required: apt-get install nginx libnginx-mod-rtmp (%v, %v)", err, merr)
	}
	dir := t.TempDir()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	_ = ln.Close()
	conf := fmt.Sprintf(`daemon off;
master_process off;
worker_processes 1;
pid %[1]s/nginx.pid;
error_log %[1]s/error.log info;
load_module %[2]s;
events { worker_connections 64; }
rtmp {
  server {
    listen 127.0.0.1:%[3]d;
    chunk_size 4096;
    application live { live on; }
  }
}
`, dir, module, port)
	if err := os.WriteFile(filepath.Join(dir, "nginx.conf"), []byte(conf), 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(nginx, "-p", dir, "-c", filepath.Join(dir, "nginx.conf"), "-e", filepath.Join(dir, "error.log"))
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		if t.Failed() {
			b, _ := os.ReadFile(filepath.Join(dir, "error.log"))
			t.Logf("nginx: %s\n%s", out.String(), b)
		}
	})
	eventually(t, 5*time.Second, "nginx to listen", func() bool {
		c, err := net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", port))
		if err == nil {
			_ = c.Close()
		}
		return err == nil
	})
	return port
}

func targetStatus(t *testing.T, n *node, room, token, id string) (map[string]any, map[string]any) {
	status, out, _ := api(t, n, "GET", "/api/rooms/"+room+"/restream", token, nil)
	if status != 200 {
		t.Fatalf("list targets: %d %v", status, out)
	}
	for _, x := range out["targets"].([]any) {
		tg := x.(map[string]any)
		if tg["id"] == id {
			return tg, tg["status"].(map[string]any)
		}
	}
	t.Fatalf("target %s not listed: %v", id, out)
	return nil, nil
}

// A streamer's restream target gets the live stream over RTMP: nginx-rtmp
// serves it back as H.264 + AAC. Internal hosts are refused unless listed,
// keys are never shown, and a push that fails says why (without its key).
func TestRestreamToNginx(t *testing.T) {
	vp8, _, ogg := sources720(t)
	port := startNginxRTMP(t)
	n := egressNode(t, func(c *app.Config) {
		c.Egress.RTMPAllow = []string{"127.0.0.1"}
		c.Egress.MaxJobs = 3 // the room job and two pushes
	})
	u := createUser(t, n, "caster", "streamer", "correct-horse-9")
	tok := login(t, n, "caster", "correct-horse-9")
	createUser(t, n, "lurker", "viewer", "correct-horse-9")
	vtok := login(t, n, "lurker", "correct-horse-9")
	const key = "caster-secret-key-1234"

	// Refusals, with a clear 4xx.
	for _, c := range []struct {
		body   map[string]any
		status int
		detail string
	}{
		{map[string]any{"url": "rtmp://10.1.2.3/live", "key": key}, 422, "private address"},
		{map[string]any{"url": "rtmp://[::1]:1935/live", "key": key}, 422, "loopback"},
		{map[string]any{"url": "rtmp://169.254.169.254/live", "key": key}, 422, "link-local"},
		{map[string]any{"url": "rtmp://8.8.8.8/live", "key": key}, 422, "not on this server's list"},
		{map[string]any{"url": "http://127.0.0.1/live", "key": key}, 400, "rtmp://"},
		{map[string]any{"url": "rtmp://127.0.0.1/live", "key": "has space"}, 400, "stream key"},
		{map[string]any{"url": "rtmp://127.0.0.1/live"}, 400, "key"},
	} {
		status, out, _ := api(t, n, "POST", "/api/rooms/caster/restream", tok, c.body)
		if status != c.status || !strings.Contains(fmt.Sprint(out["detail"]), c.detail) {
			t.Errorf("POST %v: %d %v, want %d mentioning %q", c.body, status, out, c.status, c.detail)
		}
	}
	if status, _, _ := api(t, n, "POST", "/api/rooms/caster/restream", vtok, map[string]any{"url": fmt.Sprintf("rtmp://127.0.0.1:%d/live", port), "key": key}); status != 403 {
		t.Fatalf("another user adding a target: %d, want 403", status)
	}
	if status, _, _ := api(t, n, "GET", "/api/rooms/caster/restream", "", nil); status != 401 {
		t.Fatalf("anonymous list: %d, want 401", status)
	}

	status, out, hdr := api(t, n, "POST", "/api/rooms/caster/restream", tok, map[string]any{"name": "nginx", "url": fmt.Sprintf("rtmp://127.0.0.1:%d/live/", port), "key": key})
	if status != 201 || out["key_hint"] != "…1234" || out["url"] != fmt.Sprintf("rtmp://127.0.0.1:%d/live", port) || hdr.Get("Location") == "" {
		t.Fatalf("add target: %d %v %v", status, out, hdr)
	}
	id := out["id"].(string)
	// A second target whose port nobody listens on fails, and says why.
	dead, _ := net.Listen("tcp", "127.0.0.1:0")
	deadPort := dead.Addr().(*net.TCPAddr).Port
	_ = dead.Close()
	status, out, _ = api(t, n, "POST", "/api/rooms/caster/restream", tok, map[string]any{"name": "down", "url": fmt.Sprintf("rtmp://127.0.0.1:%d/live", deadPort), "key": key})
	if status != 201 {
		t.Fatalf("add second target: %d %v", status, out)
	}
	deadID := out["id"].(string)
	if _, st := targetStatus(t, n, "caster", tok, id); st["state"] != "offline" {
		t.Fatalf("status before going live: %v", st)
	}

	publishFiles(t, n, "caster", u["stream_key"], vp8, ogg)
	live := time.Now()
	eventually(t, 30*time.Second, "the push to be live", func() bool {
		_, st := targetStatus(t, n, "caster", tok, id)
		return st["state"] == "live"
	})
	t.Logf("FIGURE going live → restream live at nginx: %v", time.Since(live).Round(10*time.Millisecond))
	ss, err := probe(t, fmt.Sprintf("rtmp://127.0.0.1:%d/live/%s", port, key), "")
	if err != nil {
		t.Fatal(err)
	}
	if v, a := streamOf(ss, "video"), streamOf(ss, "audio"); v.CodecName != "h264" || v.Width != 1280 || v.Height != 720 || a.CodecName != "aac" {
		t.Fatalf("nginx has %+v, want H.264 1280x720 and AAC", ss)
	}
	var reason string
	eventually(t, 30*time.Second, "the dead target's error", func() bool {
		_, st := targetStatus(t, n, "caster", tok, deadID)
		reason, _ = st["reason"].(string)
		return st["state"] != "live" && strings.Contains(reason, "Connection refused")
	})
	_, listOut, _ := api(t, n, "GET", "/api/rooms/caster/restream", tok, nil)
	if b, _ := json.Marshal(listOut); strings.Contains(string(b), key) || strings.Contains(reason, key) {
		t.Fatalf("the key shows: %s", b)
	}
	if !strings.Contains(reason, "****") {
		t.Logf("reason: %s", reason)
	}

	// Turning the target off stops the push; nginx no longer has the stream.
	if status, out, _ := api(t, n, "PATCH", "/api/rooms/caster/restream/"+id, tok, map[string]any{"enabled": false}); status != 200 || out["enabled"] != false {
		t.Fatalf("disable: %d %v", status, out)
	}
	eventually(t, 15*time.Second, "the push to stop", func() bool {
		return len(ffmpegOf(fmt.Sprintf("rtmp://127.0.0.1:%d/live/", port))) == 0
	})
	if status, _, _ := api(t, n, "DELETE", "/api/rooms/caster/restream/"+deadID, tok, nil); status != 204 {
		t.Fatalf("delete: %d", status)
	}
	if status, _, _ := api(t, n, "DELETE", "/api/rooms/caster/restream/"+deadID, tok, nil); status != 404 {
		t.Fatalf("delete again: %d", status)
	}
	eventually(t, 15*time.Second, "the failing push to stop", func() bool {
		return len(ffmpegOf(fmt.Sprintf("rtmp://127.0.0.1:%d/live/", deadPort))) == 0
	})
}

// An H.264 room's restream carries the publisher's video as it is.
func TestRestreamH264IsCopied(t *testing.T) {
	_, h264, ogg := sources720(t)
	port := startNginxRTMP(t)
	n := egressNode(t, func(c *app.Config) {
		c.Egress.RTMPAllow = []string{"127.0.0.1/32"}
		hls := false
		c.Egress.HLS, c.Egress.Snapshots = &hls, &hls // restreams only
	})
	u := createUser(t, n, "relay", "streamer", "correct-horse-9")
	tok := login(t, n, "relay", "correct-horse-9")
	if status, out, _ := api(t, n, "POST", "/api/rooms/relay/restream", tok, map[string]any{"url": fmt.Sprintf("rtmp://127.0.0.1:%d/live", port), "key": "relay-key"}); status != 201 {
		t.Fatalf("add target: %d %v", status, out)
	}
	publishFiles(t, n, "relay", u["stream_key"], h264, ogg)
	var ss []probedStream
	eventually(t, 40*time.Second, "nginx to have the stream", func() bool {
		var err error
		ss, err = probe(t, fmt.Sprintf("rtmp://127.0.0.1:%d/live/relay-key", port), "")
		return err == nil && len(ss) == 2
	})
	if v, a := streamOf(ss, "video"), streamOf(ss, "audio"); v.CodecName != "h264" || v.Profile != "Constrained Baseline" || v.Width != 1280 || a.CodecName != "aac" {
		t.Fatalf("nginx has %+v, want the publisher's Constrained Baseline 1280x720 and AAC", ss)
	}
	if len(roomJob(n, "relay")) != 0 {
		t.Fatal("a room job runs with HLS and snapshots off")
	}
	if status, _, _ := do(t, "GET", n.base+"/hls/relay/index.m3u8", "", ""); status != 404 {
		t.Fatalf("HLS with hls off: %d", status)
	}
}

// The node runs at most egress.max_jobs ffmpeg processes; a job over the cap
// waits and says so.
func TestEgressJobLimit(t *testing.T) {
	vp8, _, ogg := sources720(t)
	port := startNginxRTMP(t)
	n := egressNode(t, func(c *app.Config) {
		c.Egress.RTMPAllow = []string{"127.0.0.1"}
		c.Egress.MaxJobs = 1
	})
	u := createUser(t, n, "capped", "streamer", "correct-horse-9")
	tok := login(t, n, "capped", "correct-horse-9")
	status, out, _ := api(t, n, "POST", "/api/rooms/capped/restream", tok, map[string]any{"url": fmt.Sprintf("rtmp://127.0.0.1:%d/live", port), "key": "capped-key"})
	if status != 201 {
		t.Fatalf("add target: %d %v", status, out)
	}
	id := out["id"].(string)
	publishFiles(t, n, "capped", u["stream_key"], vp8, ogg)
	waitPlayable(t, n, "capped", 30*time.Second)
	var st map[string]any
	eventually(t, 10*time.Second, "the push to report the limit", func() bool {
		_, st = targetStatus(t, n, "capped", tok, id)
		return st["state"] == "error" && strings.Contains(fmt.Sprint(st["reason"]), "egress.max_jobs")
	})
	if pids := ffmpegOf(n.cfg.Data); len(pids) != 1 {
		t.Fatalf("%d ffmpeg processes under a limit of 1", len(pids))
	}
}

// Figures for the closing note: ffmpeg CPU for a 720p30 room, VP8 transcoded
// and H.264 copied (with the snapshot's decode in both), over 10 s of
// steady state.
func TestEgressCPU(t *testing.T) {
	vp8, h264, ogg := sources720(t)
	n := egressNode(t, nil)
	share := map[string]float64{}
	for _, c := range []struct{ room, video string }{{"cpuvp8", vp8}, {"cpuh264", h264}} {
		p := publishFiles(t, n, c.room, "k-"+c.room+"-key", c.video, ogg)
		waitPlayable(t, n, c.room, 30*time.Second)
		time.Sleep(3 * time.Second) // past start-up
		pids := roomJob(n, c.room)
		if len(pids) != 1 {
			t.Fatalf("room job processes %v", pids)
		}
		c0, w0 := cpuOf(t, pids[0]), time.Now()
		time.Sleep(10 * time.Second)
		used := cpuOf(t, pids[0]) - c0
		share[c.room] = used.Seconds() / time.Since(w0).Seconds()
		t.Logf("FIGURE ffmpeg CPU for a 720p30 room, %s: %.1f%% of one core (%v in %v)", c.room, 100*share[c.room], used, time.Since(w0).Round(time.Millisecond))
		_ = p.Close()
		eventually(t, 15*time.Second, "the room to end", func() bool { return len(roomJob(n, c.room)) == 0 })
	}
	if share["cpuh264"] >= share["cpuvp8"] {
		t.Fatalf("copying H.264 costs %.2f cores, transcoding VP8 %.2f: copying must be cheaper", share["cpuh264"], share["cpuvp8"])
	}
}

// A server killed with SIGKILL takes its ffmpeg with it: no encoder is left
// running for a room nobody serves.
func TestEgressDiesWithServer(t *testing.T) {
	vp8, _, ogg := sources720(t)
	bin, err := buildServer()
	if err != nil {
		t.Fatal(err)
	}
	data := t.TempDir()
	conf := filepath.Join(t.TempDir(), "onair.yaml")
	if err := os.WriteFile(conf, []byte("sfu:\n  loopback_only: true\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("ONAIR_CONFIG", conf)
	c := startChild(t, bin, data)
	publishFiles(t, &node{base: c.base}, "orphan", "k-orphan-key", vp8, ogg)
	var pids []int
	eventually(t, 30*time.Second, "the room's ffmpeg", func() bool {
		pids = ffmpegOf(filepath.Join(data, "egress", "orphan-"))
		return len(pids) == 1
	})
	if err := c.cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	_ = c.cmd.Wait()
	eventually(t, 5*time.Second, "ffmpeg to die with the server", func() bool { return !alive(pids[0]) })
}
