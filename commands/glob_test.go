package commands

import (
	"strings"
	"testing"
)

func TestGlobMatch(t *testing.T) {
	tests := []struct {
		pattern, s string
		want       bool
	}{
		{"*", "", false}, // as in Redis: KEYS special-cases a lone "*"
		{"*", "anything", true},
		{"", "", true},
		{"", "a", false},
		{"a", "", false},
		{"hello", "hello", true},
		{"hello", "hell", false},
		{"hello", "hello!", false},
		{"h?llo", "hello", true},
		{"h?llo", "hllo", false},
		{"?", "", false},
		{"h*llo", "hllo", true},
		{"h*llo", "heeeello", true},
		{"h*llo", "heeeellox", false},
		{"**a**", "xxaxx", true},
		{"a*", "a", true},
		{"a**", "a", true},
		{"*a", "ba", true},
		{"*a", "ab", false},
		{"h[ae]llo", "hello", true},
		{"h[ae]llo", "hallo", true},
		{"h[ae]llo", "hillo", false},
		{"h[^e]llo", "hallo", true},
		{"h[^e]llo", "hello", false},
		{"h[a-b]llo", "hbllo", true},
		{"h[a-b]llo", "hcllo", false},
		{"h[b-a]llo", "hallo", true}, // reversed range
		{"[a-]", "-", false},         // a range from 'a' to ']', unterminated
		{"[a-]", "a", true},
		{"[a-]", "]", true},
		{"[a-]", "_", true},
		{"[]", "]", false},
		{"[]]", "]", false},
		{`[\]]`, "]", true},
		{`[\-]`, "-", true},
		{`[a\-z]`, "b", false},
		{`\*`, "*", true},
		{`\*`, "a", false},
		{`\?`, "?", true},
		{`\[a]`, "[a]", true},
		{`a\`, `a\`, true},
		{`\`, `\`, true},
		{"[abc", "a", true}, // unterminated class ends the pattern
		{"[abc", "ab", false},
		{"[", "a", false},
		{"[^", "a", true},
		{"[^a", "b", true},
		{"[^a", "a", false},
		{"a[", "a", false},
		{"*[", "a", false},
		{"user:*:name", "user:42:name", true},
		{"user:*:name", "user:42:age", false},
		{"a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*b", strings.Repeat("a", 60), false},
		{"\xff", "\xff", true},
		{"[\x01-\xff]", "a", false}, // signed chars: the range is -1..1
		{"[\x01-\xff]", "\x00", true},
		{"[a-\xff]", "b", false},
		{"[\x80-\xff]", "\x90", true},
	}
	for _, tc := range tests {
		if got := GlobMatch([]byte(tc.pattern), []byte(tc.s)); got != tc.want {
			t.Errorf("GlobMatch(%q, %q) = %v, want %v", tc.pattern, tc.s, got, tc.want)
		}
	}
}

func TestGlobMatchFold(t *testing.T) {
	tests := []struct {
		pattern, s string
		want       bool
	}{
		{"HeLLo", "hello", true},
		{"h[A-C]t", "hbt", true},
		{"h[abc]t", "hBt", true},
		{"h[^B]t", "hbt", false},
	}
	for _, tc := range tests {
		if got := GlobMatchFold([]byte(tc.pattern), []byte(tc.s)); got != tc.want {
			t.Errorf("GlobMatchFold(%q, %q) = %v, want %v", tc.pattern, tc.s, got, tc.want)
		}
	}
}
