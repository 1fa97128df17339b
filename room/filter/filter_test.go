package filter

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
)

func mustCompile(t testing.TB, rules ...Rule) *Filter {
	t.Helper()
	f, err := Compile(rules)
	if err != nil {
		t.Fatalf("Compile: %v", err)
	}
	return f
}

type span struct {
	Word       string
	Start, End int
}

func spans(ms []Match) []span {
	var out []span
	for _, m := range ms {
		out = append(out, span{m.Word, m.Start, m.End})
	}
	return out
}

func TestCheck(t *testing.T) {
	base := []Rule{
		{"fuck", Block},
		{"敏感词", Review},
		{"abc", Mask},
		{"bcd", Mask},
		{"ass", Mask},
	}
	tests := []struct {
		name   string
		rules  []Rule // nil: base
		text   string
		action Action
		masked string
		spans  []span // nil: not checked
	}{
		{name: "clean", text: "hello there, nice stream!", masked: "hello there, nice stream!"},
		{name: "empty text", text: "", masked: ""},
		{name: "no rules", rules: []Rule{}, text: "fuck", masked: "fuck"},
		{name: "plain", text: "oh fuck no", action: Block, masked: "oh **** no", spans: []span{{"fuck", 3, 7}}},
		{name: "full width", text: "Ｆｕｃｋ！", action: Block, masked: "****！", spans: []span{{"fuck", 0, 12}}},
		{name: "mixed case", text: "FuCk", action: Block, masked: "****"},
		{name: "dots", text: "f.u.c.k", action: Block, masked: "*******"},
		{name: "spaces", text: "a f u c k b", action: Block, masked: "a ******* b", spans: []span{{"fuck", 2, 9}}},
		{name: "hyphens", text: "f-u-c-k", action: Block, masked: "*******"},
		{name: "symbols", text: "f$u★c✓k", action: Block, masked: "*******"},
		{name: "zero width", text: "f\u200bu\u200cc\u200dk\u2060\ufeff!", action: Block, masked: "*******\u2060\ufeff!"},
		{name: "repeated", text: "fuuuuuck", action: Block, masked: "********"},
		{name: "repeated tail", text: "fuckkkk!", action: Block, masked: "*******!"},
		{name: "repeated and spaced", text: "FFuu  uC K", action: Block, masked: "**********"},
		{name: "inside longer word", text: "motherfuckers", action: Block, masked: "mother****ers", spans: []span{{"fuck", 6, 10}}},
		{name: "chinese", text: "这是敏感词吗", action: Review, masked: "这是***吗"},
		{name: "chinese punctuation", text: "敏，感 词", action: Review, masked: "*****", spans: []span{{"敏感词", 0, 13}}},
		{name: "chinese full width space", text: "说敏　感・词！", action: Review, masked: "说*****！"},
		{name: "overlap", text: "xabcdx", action: Mask, masked: "x****x", spans: []span{{"abc", 1, 4}, {"bcd", 2, 5}}},
		{name: "strongest wins", text: "abc fuck", action: Block, masked: "*** ****"},
		{name: "all occurrences", text: "fuck & fuck", action: Block, masked: "**** & ****", spans: []span{{"fuck", 0, 4}, {"fuck", 7, 11}}},
		{name: "emoji kept", text: "😀fuck😀👍🏽", action: Block, masked: "😀****😀👍🏽"},
		{name: "emoji between letters", text: "f😀uck", action: Block, masked: "*****"},
		{name: "combining mark after kept", text: "fuck\u0308 e\u0301\u0302", action: Block, masked: "****\u0308 e\u0301\u0302", spans: []span{{"fuck", 0, 4}}},
		{name: "accent is a different letter", text: "fúck", masked: "fúck"},
		{name: "mixed scripts not transliterated", text: "fцck", masked: "fцck"},
		{name: "cyrillic folds", rules: []Rule{{"блять", Block}}, text: "БЛЯТЬ!", action: Block, masked: "*****!"},
		{name: "greek sigma", rules: []Rule{{"σος", Mask}}, text: "ΣΟΣ", action: Mask, masked: "***"},
		{name: "german sharp s", rules: []Rule{{"scheiße", Mask}}, text: "SCHEISSE", action: Mask, masked: "********"},
		{name: "repeated word letters", rules: []Rule{{"fuuuck", Block}}, text: "fuck", action: Block, masked: "****"},
		{name: "digits are letters", text: "f4ck", masked: "f4ck"},
		{name: "invalid utf8 dropped", text: "f\xffuck", action: Block, masked: "*****"},
		{name: "ligature", rules: []Rule{{"fin", Mask}}, text: "\ufb01n", action: Mask, masked: "**"},
		{name: "single cjk", rules: []Rule{{"屎", Mask}}, text: "吃屎吧", action: Mask, masked: "吃*吧"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rules := tt.rules
			if rules == nil {
				rules = base
			}
			f := mustCompile(t, rules...)
			res := f.Check(tt.text)
			if res.Action != tt.action {
				t.Errorf("Action = %v, want %v (matches %+v)", res.Action, tt.action, res.Matches)
			}
			if res.Masked != tt.masked {
				t.Errorf("Masked = %q, want %q", res.Masked, tt.masked)
			}
			if tt.spans != nil && !slices.Equal(spans(res.Matches), tt.spans) {
				t.Errorf("spans = %+v, want %+v", spans(res.Matches), tt.spans)
			}
			if tt.action == 0 && res.Matches != nil {
				t.Errorf("Matches = %+v, want nil", res.Matches)
			}
			checkInvariants(t, f, tt.text, res)
		})
	}
}

func TestCheckMatchActions(t *testing.T) {
	f := mustCompile(t, Rule{"abc", Mask}, Rule{"bc", Review}, Rule{"c", Block})
	res := f.Check("abc")
	got := make(map[string]Action)
	for _, m := range res.Matches {
		got[m.Word] = m.Action
	}
	want := map[string]Action{"abc": Mask, "bc": Review, "c": Block}
	if len(got) != len(want) || got["abc"] != Mask || got["bc"] != Review || got["c"] != Block {
		t.Fatalf("matches %+v, want %v", res.Matches, want)
	}
	// Same End: longest first.
	if w := []string{res.Matches[0].Word, res.Matches[1].Word, res.Matches[2].Word}; !slices.Equal(w, []string{"abc", "bc", "c"}) {
		t.Fatalf("order %v", w)
	}
	if res.Action != Block {
		t.Fatalf("Action = %v, want block", res.Action)
	}
}

func TestCompileDuplicatesKeepStrongest(t *testing.T) {
	for _, order := range [][]Rule{
		{{"spam", Mask}, {"SPAM", Block}, {"s p a m", Review}},
		{{"s.p.a.m", Review}, {"spaaam", Block}, {"spam", Mask}},
	} {
		f := mustCompile(t, order...)
		if f.Words() != 1 {
			t.Fatalf("Words() = %d, want 1", f.Words())
		}
		res := f.Check("spam")
		if res.Action != Block || len(res.Matches) != 1 || res.Matches[0].Action != Block {
			t.Fatalf("rules %v: %+v", order, res)
		}
	}
}

func TestCompileErrors(t *testing.T) {
	tests := []struct {
		rule Rule
		err  error
	}{
		{Rule{"", Block}, ErrEmptyWord},
		{Rule{" \u200b!?", Block}, ErrEmptyWord},
		{Rule{"😀", Mask}, ErrEmptyWord},
		{Rule{"ok", 0}, ErrInvalidAction},
		{Rule{"ok", Block + 1}, ErrInvalidAction},
	}
	for _, tt := range tests {
		_, err := Compile([]Rule{{"fine", Mask}, tt.rule})
		if !errors.Is(err, tt.err) {
			t.Errorf("Compile(%+v) = %v, want %v", tt.rule, err, tt.err)
			continue
		}
		if want := fmt.Sprintf("rule 1 %q", tt.rule.Word); err != nil && !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not name the rule (%s)", err, want)
		}
	}
}

func TestNilAndEmptyFilter(t *testing.T) {
	var nilF *Filter
	if res := nilF.Check("fuck"); res.Action != 0 || res.Masked != "fuck" || res.Matches != nil {
		t.Fatalf("nil filter: %+v", res)
	}
	f := mustCompile(t)
	if res := f.Check("fuck"); res.Action != 0 || res.Masked != "fuck" {
		t.Fatalf("empty filter: %+v", res)
	}
}

func TestActionString(t *testing.T) {
	for a, want := range map[Action]string{0: "none", Mask: "mask", Review: "review", Block: "block", 42: "Action(42)"} {
		if got := a.String(); got != want {
			t.Errorf("%d.String() = %q, want %q", a, got, want)
		}
	}
}

func TestLongWords(t *testing.T) {
	long := "abcdefghijklmnopqrstuvwxyz0123456789abcdefghijklmnopqrstuvwxyz0123456789" // > ringStack runes
	f := mustCompile(t, Rule{long, Block}, Rule{"xyz", Mask})
	text := "<<" + long + ">>"
	res := f.Check(text)
	if res.Action != Block {
		t.Fatalf("Action = %v", res.Action)
	}
	var found bool
	for _, m := range res.Matches {
		if m.Word == long && m.Start == 2 && m.End == 2+len(long) {
			found = true
		}
	}
	if !found {
		t.Fatalf("long word not found: %+v", res.Matches)
	}
}

func TestConcurrentCheck(t *testing.T) {
	f := mustCompile(t, Rule{"fuck", Block}, Rule{"敏感词", Review})
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := range 500 {
				text := "ok"
				if (g+i)%2 == 0 {
					text = "敏 感 词 and Ｆｕｃｋ"
				}
				res := f.Check(text)
				if (g+i)%2 == 0 && res.Action != Block {
					t.Errorf("Action = %v", res.Action)
					return
				}
			}
		})
	}
	wg.Wait()
}

func TestCheckAllocs(t *testing.T) {
	f := benchFilter(t)
	for _, tc := range []struct {
		text string
		max  float64
	}{
		{"hey everyone, great stream today!! gg", 0},
		{"主播今天的直播真好看，大家晚上好", 0},
	} {
		if res := f.Check(tc.text); res.Action != 0 {
			t.Fatalf("%q unexpectedly matched %+v", tc.text, res.Matches)
		}
		got := testing.AllocsPerRun(200, func() { f.Check(tc.text) })
		if got > tc.max {
			t.Errorf("Check(%q): %.1f allocs, want ≤ %.0f", tc.text, got, tc.max)
		}
	}
}
