package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestLoadFileAndFlags(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "redis.conf")
	os.WriteFile(path, []byte("# comment\nport 7000\nappendfsync always\nrequirepass \"s e\\tcret\"\ndaemonize yes\nsave 900 1 300 10\nproto-max-bulk-len 2mb\n"), 0o644)
	c, err := Load([]string{path, "--port", "7001", "--bind", "127.0.0.1", "::1", "--databases", "4"})
	if err != nil {
		t.Fatal(err)
	}
	if c.Port != 7001 || c.AppendFsync != "always" || c.RequirePass != "s e\tcret" || c.Databases != 4 {
		t.Fatalf("got %+v", c)
	}
	if strings.Join(c.Bind, ",") != "127.0.0.1,::1" || !c.BindExplicit() {
		t.Fatalf("bind %v", c.Bind)
	}
	if c.Save != "900 1 300 10" || c.ProtoMaxBulkLen != 2<<20 {
		t.Fatalf("save %q bulk %d", c.Save, c.ProtoMaxBulkLen)
	}
	if len(c.Ignored) != 1 || c.Ignored[0] != "daemonize" {
		t.Fatalf("ignored %v", c.Ignored)
	}
}

func TestValidateNamesFieldAndValue(t *testing.T) {
	cases := map[string]string{
		"--appendfsync sometimes": "appendfsync",
		"--port 70000":            "port: 70000",
		"--databases 0":           "databases: 0",
		"--hz 0":                  "hz: 0",
		"--maxclients x":          "not an integer",
		"--protected-mode maybe":  "not yes or no",
	}
	for args, want := range cases {
		_, err := Load(strings.Fields(args))
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Load(%s) = %v, want error containing %q", args, err, want)
		}
	}
	if _, err := Load([]string{"--nosuchthing", "1"}); err != nil {
		t.Errorf("unknown directive must be ignored, got %v", err)
	}
}

func TestSplitArgs(t *testing.T) {
	cases := []struct {
		in   string
		want []string
		err  bool
	}{
		{`set a b`, []string{"set", "a", "b"}, false},
		{`  set  "a b"  'c d' `, []string{"set", "a b", "c d"}, false},
		{`"\x41\n"`, []string{"A\n"}, false},
		{`"unterminated`, nil, true},
		{`"a"b`, nil, true},
	}
	for _, c := range cases {
		got, err := SplitArgs(c.in)
		if (err != nil) != c.err || strings.Join(got, "|") != strings.Join(c.want, "|") {
			t.Errorf("SplitArgs(%q) = %q, %v", c.in, got, err)
		}
	}
}

func TestParseMemory(t *testing.T) {
	for in, want := range map[string]int64{"100": 100, "1k": 1000, "1kb": 1024, "5mb": 5 << 20, "1GB": 1 << 30} {
		if got, err := ParseMemory(in); err != nil || got != want {
			t.Errorf("ParseMemory(%q) = %d, %v", in, got, err)
		}
	}
	if _, err := ParseMemory("lots"); err == nil {
		t.Error("ParseMemory(lots) succeeded")
	}
}

func TestRenderRoundTrip(t *testing.T) {
	c, err := Load([]string{"--port", "7005", "--requirepass", "a b", "--save", ""})
	if err != nil {
		t.Fatal(err)
	}
	back, err := Parse(c.Render())
	if err != nil {
		t.Fatal(err)
	}
	if back.Port != 7005 || back.RequirePass != "a b" {
		t.Fatalf("round trip: %+v", back)
	}
}
