package acl

import (
	"slices"
	"strings"
	"testing"

	"github.com/shoaldb/shoal/commands"
)

// sortSingles sorts the single-command rules that end a description,
// which Redis lists in its command dictionary's order.
func sortSingles(d string) string {
	f := strings.Fields(d)
	i := len(f)
	for i > 0 && !strings.HasPrefix(f[i-1][1:], "@") && (f[i-1][0] == '+' || f[i-1][0] == '-') {
		i--
	}
	slices.Sort(f[i:])
	return strings.Join(f, " ")
}

// TestDescribeAsRedis applies rules to a user and compares ACL LIST's
// description with what redis-server 7.0.15 printed for the same rules
// (recorded from it, single commands sorted).
func TestDescribeAsRedis(t *testing.T) {
	x := NewIndex(commands.Default())
	for _, tc := range []struct {
		rules []string
		want  string
	}{
		{[]string{"on", ">pw", "~cache:*", "%R~ro:*", "&news.*", "+@read", "-debug", "+set", "+client|setname", "-@dangerous", "+get"},
			"on #30c952fab122c3f9759f02a6d95c3758b246b4fee239957b2d4fee46e26170c4 ~cache:* %R~ro:* resetchannels &news.* -@all +@read +client|setname -keys -sort_ro +set"},
		{nil, "off resetchannels -@all"},
		{[]string{"on", "nopass", "allkeys", "allchannels", "allcommands", "(~sel:* +@write)"},
			"on nopass ~* &* +@all (~sel:* resetchannels -@all +@write)"},
		{[]string{"%R~*", "~foo"}, "off %R~* ~foo resetchannels -@all"},
		{[]string{"+get|x", "+get|y", "+set"}, "off resetchannels -@all +get|x +get|y +set"},
		{[]string{"+@all", "-get", "+get|x"}, "off resetchannels +@all -get +get|x"},
	} {
		u := x.NewUser("u", false)
		for _, r := range tc.rules {
			if err := x.Apply(u, r, false); err != nil {
				t.Fatalf("%v: %q: %v", tc.rules, r, err)
			}
		}
		if got := sortSingles(x.Describe(u)); got != sortSingles(tc.want) {
			t.Errorf("%v:\n got %s\nwant %s", tc.rules, got, tc.want)
		}
	}
}

// TestRuleErrorsAsRedis checks the rules redis-server 7.0.15 refuses, with
// its reasons, and those it takes that look wrong.
func TestRuleErrorsAsRedis(t *testing.T) {
	x := NewIndex(commands.Default())
	for _, tc := range []struct {
		rules []string
		want  error
	}{
		{[]string{"~*", "~*"}, nil}, {[]string{"~*", "~foo"}, ErrAfterAll}, {[]string{"&*", "&*"}, nil},
		{[]string{"&*", "&foo"}, ErrAfterAllCh}, {[]string{"~*", "%R~foo"}, ErrAfterAll}, {[]string{"%"}, ErrSyntax},
		{[]string{"%R"}, nil}, {[]string{"%X~a"}, ErrSyntax}, {[]string{"%RR~a"}, ErrSyntax}, {[]string{"+get|x"}, nil},
		{[]string{"+client|x"}, ErrUnknown}, {[]string{"+nocmd"}, ErrUnknown}, {[]string{"+@nocat"}, ErrUnknown},
		{[]string{"bogus"}, ErrSyntax}, {[]string{"<nope"}, ErrNoSuchPass}, {[]string{"#abc"}, ErrBadHash},
	} {
		u := x.NewUser("u", false)
		var err error
		for _, r := range tc.rules {
			if err = x.Apply(u, r, false); err != nil {
				break
			}
		}
		if err != tc.want {
			t.Errorf("%v: %v, want %v", tc.rules, err, tc.want)
		}
	}
}
