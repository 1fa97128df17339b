package filter

import (
	"math/rand/v2"
	"strings"
	"testing"
)

// benchRules is a deterministic 10,000-word list: 60% Latin words of 4–8
// letters, 40% CJK words of 2–4 characters from the first 3,000 unified
// ideographs, with no letter repeated back to back (run collapsing would
// shorten such words). (Random 2- and 3-letter Latin words would cover most bigrams
// and flag nearly every message, which is not a realistic list.)
func benchRules() []Rule {
	rng := rand.New(rand.NewPCG(1, 2))
	rules := make([]Rule, 0, 10000)
	for len(rules) < 10000 {
		var b strings.Builder
		if rng.IntN(10) < 6 {
			prev := byte(0)
			for range 4 + rng.IntN(5) {
				c := byte('a' + rng.IntN(26))
				for c == prev {
					c = byte('a' + rng.IntN(26))
				}
				b.WriteByte(c)
				prev = c
			}
		} else {
			prev := rune(0)
			for range 2 + rng.IntN(3) {
				c := rune(0x4E00 + rng.IntN(3000))
				for c == prev {
					c = rune(0x4E00 + rng.IntN(3000))
				}
				b.WriteRune(c)
				prev = c
			}
		}
		rules = append(rules, Rule{Word: b.String(), Action: Action(1 + rng.IntN(3))})
	}
	return rules
}

func benchFilter(tb testing.TB) *Filter {
	tb.Helper()
	return mustCompile(tb, benchRules()...)
}

// benchMessages are short (20–60 character) chat messages, mostly clean,
// with some carrying list words in disguise.
func benchMessages(rules []Rule) []string {
	en := []string{"hello", "everyone", "nice", "stream", "gg", "lol", "what", "is", "this", "song",
		"love", "it", "wow", "so", "good", "play", "again", "the", "boss", "fight", "when", "next", "one",
		"thanks", "for", "gift", "haha", "omg", "yes", "no", "clutch", "!!", "?", "😂", "👍"}
	zh := []string{"主播", "好", "今天", "直播", "真", "好看", "大家", "晚上", "哈哈哈", "666", "加油", "礼物",
		"谢谢", "这个", "游戏", "厉害", "，", "！", "？", "来了"}
	rng := rand.New(rand.NewPCG(3, 4))
	msgs := make([]string, 0, 1024)
	for len(msgs) < cap(msgs) {
		var b strings.Builder
		target := 20 + rng.IntN(41)
		cjk := rng.IntN(10) < 3
		for n := 0; n < target; {
			var w string
			if cjk {
				w = zh[rng.IntN(len(zh))]
			} else {
				w = en[rng.IntN(len(en))] + " "
			}
			b.WriteString(w)
			n += len([]rune(w))
		}
		if rng.IntN(20) == 0 { // 5% carry a disguised list word
			w := []rune(rules[rng.IntN(len(rules))].Word)
			b.WriteString(" " + strings.ToUpper(string(w[:1])) + "." + string(w[1:]))
		}
		msgs = append(msgs, b.String())
	}
	return msgs
}

func BenchmarkCheck(b *testing.B) {
	rules := benchRules()
	f := mustCompile(b, rules...)
	msgs := benchMessages(rules)
	hits, chars := 0, 0
	for _, m := range msgs {
		if f.Check(m).Action != 0 {
			hits++
		}
		chars += len([]rune(m))
	}
	b.ReportAllocs()
	b.ResetTimer()
	i := 0
	for b.Loop() {
		f.Check(msgs[i&(len(msgs)-1)])
		i++
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "msgs/s")
	b.ReportMetric(float64(hits)/float64(len(msgs))*100, "%flagged")
	b.ReportMetric(float64(chars)/float64(len(msgs)), "runes/msg")
}

func BenchmarkCheckCleanASCII(b *testing.B) {
	f := benchFilter(b)
	msg := "hey everyone, great stream today!! gg"
	b.ReportAllocs()
	for b.Loop() {
		f.Check(msg)
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "msgs/s")
}

func BenchmarkCheckCleanCJK(b *testing.B) {
	f := benchFilter(b)
	msg := "主播今天的直播真好看，大家晚上好"
	b.ReportAllocs()
	for b.Loop() {
		f.Check(msg)
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "msgs/s")
}

func BenchmarkCompile10k(b *testing.B) {
	rules := benchRules()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Compile(rules); err != nil {
			b.Fatal(err)
		}
	}
}
