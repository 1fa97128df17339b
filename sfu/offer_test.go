package sfu

import "testing"

func TestH264Profile(t *testing.T) {
	for fmtp, want := range map[string]string{
		"level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f": "constrained-baseline",
		"profile-level-id=42c01e;packetization-mode=1":                           "constrained-baseline",
		"profile-level-id=42001f":                                                "baseline",
		"profile-level-id=4d001f":                                                "main",
		"profile-level-id=64001f":                                                "high",
		"profile-level-id=640c1f":                                                "constrained-high",
		"packetization-mode=1":                                                   "",
		"profile-level-id=zz001f":                                                "",
	} {
		if got := h264Profile(fmtp); got != want {
			t.Errorf("h264Profile(%q) = %q, want %q", fmtp, got, want)
		}
	}
}
