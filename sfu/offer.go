package sfu

import (
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
	codecs    []string // lower-case mime types, in the offer's order of preference
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
		mi := mediaInfo{direction: "sendrecv"}
		for _, a := range m.Attributes {
			switch a.Key {
			case "sendrecv", "sendonly", "recvonly", "inactive":
				mi.direction = a.Key
			case "rtpmap":
				// a=rtpmap:<pt> <name>/<clock>[/<channels>]
				_, rest, ok := strings.Cut(a.Value, " ")
				name, _, _ := strings.Cut(rest, "/")
				if ok && name != "" {
					mi.codecs = append(mi.codecs, strings.ToLower(kind+"/"+name))
				}
			}
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
