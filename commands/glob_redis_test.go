package commands

import "testing"

// The expectations were checked against redis-server 7.0 with KEYS, which
// uses the same matcher.
func TestGlobMatchRedisCases(t *testing.T) {
	for _, tc := range []struct {
		pat, s string
		want   bool
	}{
		{"*", "anything", true},
		{"h?llo", "hello", true},
		{"h?llo", "hllo", false},
		{"h*llo", "heeeello", true},
		{"h[ae]llo", "hallo", true},
		{"h[ae]llo", "hillo", false},
		{"h[^e]llo", "hallo", true},
		{"h[^e]llo", "hello", false},
		{"h[a-b]llo", "hbllo", true},
		{"h[b-a]llo", "hallo", true},
		{`h\*llo`, "h*llo", true},
		{`h\*llo`, "hello", false},
		{"a[", "a[", false},
		{"a[", "a", false},
		{"a[b", "ab", true},
		{"a[b", "a[", false},
		{"[", "x", false},
		{"a*", "a", true},
		{"*a", "a", true},
		{"a**", "abc", true},
		{"news.*", "news.tech", true},
		{"news.*", "news", false},
		{`\`, `\`, true},
		{`a\`, `a\`, true},
		{`[\]]`, "]", true},
		{"[a-]", "-", false},
		{"[a-]", "a", true},
		{"a*b*c", "aXbYc", true},
		{"a*b*c", "aXbY", false},
		{"x[]]", "x]", false},
		{"x[^]", "xa", true},
		{"", "", true},
		{"?", "", false},
	} {
		if got := GlobMatch([]byte(tc.pat), []byte(tc.s)); got != tc.want {
			t.Errorf("GlobMatch(%q, %q) = %v, want %v", tc.pat, tc.s, got, tc.want)
		}
	}
	if !GlobMatchFold([]byte("H[A-C]LLO"), []byte("hbllo")) || GlobMatch([]byte("HELLO"), []byte("hello")) {
		t.Error("nocase")
	}
	// Nested stars do not explode.
	pat := []byte("a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*b")
	str := make([]byte, 200)
	for i := range str {
		str[i] = 'a'
	}
	if GlobMatch(pat, str) {
		t.Error("no b, no match")
	}
}
