package egress

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/onair-live/onair/media/ffmpeg"
	"github.com/onair-live/onair/media/ffmpeg/ffmpegtest"
	"github.com/onair-live/onair/sfu"
)

func TestRoomArgsGolden(t *testing.T) {
	off := false
	for _, c := range []struct {
		name, codec string
		cfg         Config
	}{
		{"room-vp8", "VP8", Config{}},
		{"room-h264", "H264", Config{}},
		{"room-vp9-tuned", "VP9", Config{SegmentDuration: 2 * time.Second, Window: 4, SnapshotInterval: 5 * time.Second, Width: 640, Height: 360, VideoBitrate: 800_000, AudioBitrate: 96_000}},
		{"room-snapshots-only", "H264", Config{HLS: &off}},
		{"room-hls-only", "H264", Config{Snapshots: &off}},
		{"room-mpegts", "H264", Config{SegmentType: "mpegts"}},
	} {
		args, err := RoomArgs(c.cfg, Single(c.codec), "/data/egress/tv-1", 1700000000000)
		if err != nil {
			t.Fatal(err)
		}
		ffmpegtest.Golden(t, c.name, args)
	}
}

func TestPushArgsGolden(t *testing.T) {
	for _, c := range []struct{ name, codec string }{{"push-vp8", "VP8"}, {"push-h264", "H264"}} {
		args, err := PushArgs(Config{}, Single(c.codec), "rtmp://live.example.com/app/KEY")
		if err != nil {
			t.Fatal(err)
		}
		ffmpegtest.Golden(t, c.name, args)
	}
}

func TestAV1IsRefused(t *testing.T) {
	if _, err := RoomArgs(Config{}, Single("AV1"), "/d", 1); !errors.Is(err, ErrCodec) || !strings.Contains(err.Error(), "publish H.264, VP8 or VP9") {
		t.Fatalf("AV1 room: %v", err)
	}
	if _, err := PushArgs(Config{}, Single("AV1"), "rtmp://h/a/k"); !errors.Is(err, ErrCodec) {
		t.Fatalf("AV1 push: %v", err)
	}
}

func TestSDP(t *testing.T) {
	lo := net.IPv4(127, 0, 0, 1)
	got := SDP("tv", []sfu.TapTrack{
		{Kind: "video", Addr: &net.UDPAddr{IP: lo, Port: 40000}, MimeType: "video/H264", PayloadType: 96, ClockRate: 90000,
			Fmtp: "level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f", SSRC: 1},
		{Kind: "audio", Addr: &net.UDPAddr{IP: lo, Port: 40002}, MimeType: "audio/opus", PayloadType: 111, ClockRate: 48000, Channels: 2, SSRC: 2},
	})
	want := "v=0\r\no=- 0 0 IN IP4 127.0.0.1\r\ns=onair tv\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n" +
		"m=video 40000 RTP/AVP 96\r\na=rtpmap:96 H264/90000\r\na=fmtp:96 level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f\r\na=recvonly\r\n" +
		"m=audio 40002 RTP/AVP 111\r\na=rtpmap:111 opus/48000/2\r\na=recvonly\r\n"
	if got != want {
		t.Fatalf("SDP:\n%s\nwant\n%s", got, want)
	}
}

// fakeDNS answers lookups from a table; anything else does not resolve.
type fakeDNS map[string][]string

func (f fakeDNS) LookupNetIP(_ context.Context, _, host string) ([]netip.Addr, error) {
	var out []netip.Addr
	for _, a := range f[host] {
		out = append(out, netip.MustParseAddr(a))
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("lookup %s: no such host", host)
	}
	return out, nil
}

func TestAllowList(t *testing.T) {
	dns := fakeDNS{
		"live.example.com":    {"8.8.8.8"},
		"a.live.example.com":  {"8.8.4.4"},
		"intranet.example":    {"10.1.2.3"},
		"mixed.example":       {"8.8.8.8", "192.168.1.10"},
		"rebind.example":      {"169.254.169.254"},
		"relay.corp.example":  {"10.9.9.9"},
		"cgnat.example":       {"100.64.1.1"},
		"v6-loopback.example": {"::1"},
	}
	cases := []struct {
		allow []string
		host  string
		ok    bool
		why   string
	}{
		{nil, "live.example.com", true, ""},
		{nil, "8.8.8.8", true, ""},
		{nil, "127.0.0.1", false, "loopback"},
		{nil, "[::1]", false, "loopback"},
		{nil, "::ffff:127.0.0.1", false, "loopback"},
		{nil, "localhost.", false, "does not resolve"},
		{nil, "intranet.example", false, "private"},
		{nil, "mixed.example", false, "private"},
		{nil, "rebind.example", false, "link-local"},
		{nil, "cgnat.example", false, "reserved"},
		{nil, "v6-loopback.example", false, "loopback"},
		{nil, "0.0.0.0", false, "unspecified"},
		{nil, "239.1.2.3", false, "multicast"},
		{nil, "192.0.2.1", false, "reserved"},
		{nil, "nowhere.example", false, "does not resolve"},
		{[]string{"127.0.0.1"}, "127.0.0.1", true, ""},
		{[]string{"10.0.0.0/8"}, "intranet.example", true, ""},
		{[]string{"relay.corp.example"}, "relay.corp.example", true, ""},
		{[]string{"relay.corp.example"}, "live.example.com", false, "not on this server's list"},
		{[]string{"relay.corp.example"}, "intranet.example", false, "private"},
		{[]string{".live.example.com"}, "a.live.example.com", true, ""},
		{[]string{".live.example.com"}, "live.example.com", false, "not on this server's list"},
		{[]string{"Live.Example.com"}, "LIVE.example.com", true, ""},
	}
	for _, c := range cases {
		l, err := parseAllowList(c.allow)
		if err != nil {
			t.Fatal(err)
		}
		err = l.check(t.Context(), dns, c.host)
		if c.ok != (err == nil) || !c.ok && (!errors.Is(err, ErrNotAllowed) || !strings.Contains(err.Error(), c.why)) {
			t.Errorf("allow %v, host %s: %v (want ok=%v, %q)", c.allow, c.host, err, c.ok, c.why)
		}
	}
	for _, bad := range []string{"", "rtmp://x", "a..b", "-x.com", "10.0.0.0/33"} {
		if _, err := parseAllowList([]string{bad}); err == nil {
			t.Errorf("allow-list entry %q accepted", bad)
		}
	}
}

func TestTargetChecks(t *testing.T) {
	for raw, want := range map[string]string{
		"rtmp://live.example.com/app/":      "rtmp://live.example.com/app",
		" rtmps://live.example.com:443/x ":  "rtmps://live.example.com:443/x",
		"rtmp://[2001:4860::8888]:1935/app": "rtmp://[2001:4860::8888]:1935/app",
	} {
		if got, _, err := parseTargetURL(raw); err != nil || got != want {
			t.Errorf("parseTargetURL(%q) = %q, %v; want %q", raw, got, err, want)
		}
	}
	for _, raw := range []string{"http://example.com/app", "rtmp:///app", "rtmp://u:p@example.com/app", "rtmp://example.com/app?key=1",
		"rtmp://example.com:0/app", "rtmp://example.com:99999/app", "srt://example.com", "rtmp://example.com/" + strings.Repeat("a", 600)} {
		if _, _, err := parseTargetURL(raw); !errors.Is(err, ErrBadTarget) {
			t.Errorf("parseTargetURL(%q) = %v, want ErrBadTarget", raw, err)
		}
	}
	for _, k := range []string{"live_123?bandwidthtest=true", "abcd-efgh-ijkl-mnop", "FB-123?s_bl=1&s_ps=1"} {
		if err := checkKey(k); err != nil {
			t.Errorf("key %q: %v", k, err)
		}
	}
	for _, k := range []string{"", "a b", "a/b", "ключ", strings.Repeat("k", 300)} {
		if err := checkKey(k); !errors.Is(err, ErrBadTarget) {
			t.Errorf("key %q accepted", k)
		}
	}
	if keyHint("abcd-efgh-ijkl-mnop") != "…mnop" || keyHint("short-key") != "…" {
		t.Errorf("hints %q %q", keyHint("abcd-efgh-ijkl-mnop"), keyHint("short-key"))
	}
	if err := checkName(strings.Repeat("n", 65)); !errors.Is(err, ErrBadTarget) {
		t.Error("a 65-character name accepted")
	}
}

func TestConfigValidate(t *testing.T) {
	if err := (Config{}).Validate(); err != nil {
		t.Fatalf("zero config: %v", err)
	}
	for _, c := range []struct {
		cfg  Config
		want string
	}{
		{Config{SegmentDuration: 100 * time.Millisecond}, "segment_duration"},
		{Config{SegmentType: "cmaf"}, "segment_type"},
		{Config{Window: 1}, "window"},
		{Config{MaxJobs: -1}, "max_jobs"},
		{Config{SnapshotInterval: time.Millisecond}, "snapshot_interval"},
		{Config{Width: 641}, "width"},
		{Config{RTMPAllow: []string{"not a host"}}, "rtmp_allow"},
		{Config{RestartMin: time.Minute, RestartMax: time.Second}, "restart"},
	} {
		if err := c.cfg.Validate(); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%+v: %v, want an error about %s", c.cfg, err, c.want)
		}
	}
}

func TestPortsAndBinding(t *testing.T) {
	addrs, err := freePorts(2)
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range addrs {
		if a.Port%2 != 0 || !a.IP.IsLoopback() {
			t.Fatalf("port %v: want an even loopback port", a)
		}
		if bound, known := udpBound(a.Port); !known || bound {
			t.Fatalf("free port %d: bound %v, known %v", a.Port, bound, known)
		}
	}
	c, err := net.ListenUDP("udp4", addrs[0])
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	start := time.Now()
	waitBound(t.Context(), addrs[0].Port, make(chan error, 1))
	if bound, _ := udpBound(addrs[0].Port); !bound || time.Since(start) > 500*time.Millisecond {
		t.Fatalf("a bound port: %v after %v", bound, time.Since(start))
	}
}

func TestRedaction(t *testing.T) {
	j := &job{secrets: []string{"s3cret-key"}}
	err := &ffmpeg.ExitError{Tool: "ffmpeg", Code: 1, Args: []string{"-f", "flv", "rtmp://192.0.2.7/live/s3cret-key"},
		Stderr: "[tcp @ 0x55d1c0a3e9c0] Connection to tcp://192.0.2.7:1935 failed: Connection refused\nrtmp://192.0.2.7/live/s3cret-key: Connection refused\n"}
	got := j.reason(err)
	if strings.Contains(got, "s3cret") || got != "tcp: Connection to tcp://192.0.2.7:1935 failed: Connection refused; rtmp://192.0.2.7/live/****: Connection refused" {
		t.Fatalf("reason %q", got)
	}
}
