package sfu

import (
	"encoding/hex"
	"fmt"
	"strings"

	"github.com/pion/sdp/v3"
)

// offerInfo is what the SFU needs to know about an offer before handing it to pion.
type offerInfo struct {
	video, audio []mediaInfo // m-lines in order
	data         bool
}

type mediaInfo struct {
	direction string
	codecs    []string            // lower-case mime types, in the offer's order of preference
	fmtps     map[string][]string // mime → its fmtp lines, in the same order
	rids      []string            // simulcast encodings sent (RFC 8853), in a=simulcast order
}

// parseOffer validates an SDP offer (RFC 8866) enough to give a clear error early.
func parseOffer(raw string) (offerInfo, error) {
	var info offerInfo
	var sd sdp.SessionDescription
	if err := sd.UnmarshalString(raw); err != nil {
		return info, fmt.Errorf("%w: %v", ErrBadOffer, err)
	}
	for _, m := range sd.MediaDescriptions {
		kind := m.MediaName.Media
		if kind == "application" {
			info.data = true
			continue
		}
		if kind != "audio" && kind != "video" {
			continue
		}
		if m.MediaName.Port.Value == 0 {
			continue // rejected or stopped m-line
		}
		mi := mediaInfo{direction: "sendrecv", fmtps: map[string][]string{}}
		names, params := map[string]string{}, map[string]string{}
		var order, sendRIDs, simulcast []string
		for _, a := range m.Attributes {
			switch a.Key {
			case "sendrecv", "sendonly", "recvonly", "inactive":
				mi.direction = a.Key
			case "rtpmap":
				// a=rtpmap:<pt> <name>/<clock>[/<channels>]
				pt, rest, ok := strings.Cut(a.Value, " ")
				name, _, _ := strings.Cut(rest, "/")
				if ok && name != "" {
					names[pt] = strings.ToLower(kind + "/" + name)
					order = append(order, pt)
				}
			case "fmtp":
				if pt, p, ok := strings.Cut(a.Value, " "); ok {
					params[pt] = p
				}
			case "rid":
				// a=rid:<id> send [restrictions] (RFC 8851 §10)
				if f := strings.Fields(a.Value); len(f) >= 2 && f[1] == "send" {
					sendRIDs = append(sendRIDs, f[0])
				}
			case "simulcast":
				simulcast = simulcastSend(a.Value)
			}
		}
		mi.rids = sendRIDs
		if len(simulcast) > 0 {
			mi.rids = simulcast
		}
		for _, pt := range order {
			mi.codecs = append(mi.codecs, names[pt])
			mi.fmtps[names[pt]] = append(mi.fmtps[names[pt]], params[pt])
		}
		if kind == "video" {
			info.video = append(info.video, mi)
		} else {
			info.audio = append(info.audio, mi)
		}
	}
	if len(info.video)+len(info.audio) == 0 && !info.data {
		return info, fmt.Errorf("%w: it has no audio, video or data section", ErrBadOffer)
	}
	return info, nil
}

// simulcastSend lists the RIDs of an a=simulcast value's send direction
// (RFC 8853 §5.1: "send f;h;q", alternatives after commas, "~" paused),
// one per stream, the first alternative of each.
func simulcastSend(v string) []string {
	f := strings.Fields(v)
	for i := 0; i+1 < len(f); i += 2 {
		if f[i] != "send" {
			continue
		}
		var out []string
		for _, stream := range strings.Split(f[i+1], ";") {
			alt, _, _ := strings.Cut(stream, ",")
			if alt = strings.TrimPrefix(alt, "~"); alt != "" {
				out = append(out, alt)
			}
		}
		return out
	}
	return nil
}

// firstCodec returns the first codec of the m-lines that is also in supported.
func firstCodec(ms []mediaInfo, supported []string) string {
	for _, m := range ms {
		for _, c := range m.codecs {
			for _, s := range supported {
				if c == s {
					return c
				}
			}
		}
	}
	return ""
}

func offers(ms []mediaInfo, mime string) bool {
	return firstCodec(ms, []string{strings.ToLower(mime)}) != ""
}

// h264Profile names the H.264 profile of an fmtp line's profile-level-id
// (RFC 6184 §8.1): profile_idc with the constraint flags that change what a
// decoder must support, so 42e01f and 42c01e are both constrained baseline. The
// level is ignored: both sides allow level asymmetry.
func h264Profile(fmtp string) string {
	for _, kv := range strings.Split(fmtp, ";") {
		v, ok := strings.CutPrefix(strings.TrimSpace(kv), "profile-level-id=")
		if !ok || len(v) != 6 {
			continue
		}
		b, err := hex.DecodeString(v)
		if err != nil {
			return ""
		}
		idc, iop := b[0], b[1]
		switch {
		case idc == 0x42 && iop&0x40 != 0, idc == 0x4d && iop&0x80 != 0:
			return "constrained-baseline"
		case idc == 0x42:
			return "baseline"
		case idc == 0x4d:
			return "main"
		case idc == 0x64 && iop&0x0c == 0x0c:
			return "constrained-high"
		case idc == 0x64:
			return "high"
		}
		return v[:4]
	}
	return ""
}

// chooseFmtp returns the fmtp of our codec table entry that the offer's
// preferred variant of mime matches: for H.264 the first offered profile we
// forward with packetization-mode=1; "" for codecs with one entry.
func chooseFmtp(ms []mediaInfo, mime string) string {
	if !strings.EqualFold(mime, "video/h264") {
		return ""
	}
	for _, m := range ms {
		for _, f := range m.fmtps[strings.ToLower(mime)] {
			if !strings.Contains(f, "packetization-mode=1") {
				continue
			}
			for _, c := range videoCodecs {
				if strings.EqualFold(c.params.MimeType, mime) && h264Profile(c.params.SDPFmtpLine) == h264Profile(f) {
					return c.params.SDPFmtpLine
				}
			}
		}
	}
	return ""
}
