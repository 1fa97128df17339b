package voice_test

import (
	"bytes"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/onair-live/onair/media/voice"
)

// BenchmarkUpload10s converts a 10 s voice clip (AMR-NB as a phone records
// it, and WebM/Opus as a browser does) through the whole Upload: sniff,
// ffprobe, ffmpeg, ffprobe, rename, record. "serial" is one upload at a time
// (latency); "parallel" keeps every transcode slot busy (throughput). It
// reports clips/s and the 95th percentile of one upload's time.
//
//	go test -run XXX -bench Upload10s -benchtime 40x ./media/voice/
func BenchmarkUpload10s(b *testing.B) {
	nb := fixture(b, "speech-nb.amr")
	clips := []struct {
		name, ctype string
		data        []byte
	}{
		{"amr-nb", "audio/amr", repeatAMR(nb, 3)}, // 3 × 3.54 s
		{"webm", "audio/webm", browserWebM(b, 10)},
	}
	for _, c := range clips {
		for _, mode := range []string{"serial", "parallel"} {
			b.Run(c.name+"/"+mode, func(b *testing.B) {
				s := newService(b, voice.Config{}, newMemStore())
				var mu sync.Mutex
				took := make([]time.Duration, 0, b.N)
				one := func() {
					start := time.Now()
					if _, err := s.Upload(b.Context(), voice.Upload{Owner: "u1", Scope: room, ContentType: c.ctype, Body: bytes.NewReader(c.data)}); err != nil {
						b.Error(err)
						return
					}
					mu.Lock()
					took = append(took, time.Since(start))
					mu.Unlock()
				}
				b.ResetTimer()
				if mode == "serial" {
					for range b.N {
						one()
					}
				} else {
					b.RunParallel(func(pb *testing.PB) {
						for pb.Next() {
							one()
						}
					})
				}
				b.StopTimer()
				slices.Sort(took)
				if len(took) > 0 {
					b.ReportMetric(float64(took[len(took)*95/100].Microseconds())/1000, "p95-ms")
				}
				b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "clips/s")
			})
		}
	}
}
