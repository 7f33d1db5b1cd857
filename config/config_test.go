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
	os.WriteFile(path, []byte("# comment\nport 7000\nappendfsync always\nrequirepass \"s e\\tcret\"\nnosuchdirective yes\nsave 900 1\nsave 300 10\nproto-max-bulk-len 2mb\nhash-max-ziplist-entries 7\n"), 0o644)
	c, err := Load([]string{path, "--port", "7001", "--bind", "127.0.0.1", "::1", "--databases", "4"})
	if err != nil {
		t.Fatal(err)
	}
	if c.Port != 7001 || c.AppendFsync != "always" || c.RequirePass != "s e\tcret" || c.Databases != 4 {
		t.Fatalf("got %+v", c)
	}
	if strings.Join(c.Bind, ",") != "127.0.0.1,::1" {
		t.Fatalf("bind %v", c.Bind)
	}
	// A file's save lines add up, replacing the default.
	if c.Value("save") != "900 1 300 10" || c.ProtoMaxBulkLen != 2<<20 {
		t.Fatalf("save %q bulk %d", c.Value("save"), c.ProtoMaxBulkLen)
	}
	if c.HashMaxListpackEntries != 7 || c.Value("hash-max-listpack-entries") != "7" {
		t.Fatalf("hash-max-ziplist-entries 7 gave %d", c.HashMaxListpackEntries)
	}
	if len(c.Ignored) != 1 || c.Ignored[0] != "nosuchdirective" {
		t.Fatalf("ignored %v", c.Ignored)
	}
}

// TestSaveLinesAsRedis: save lines from the file and the command line
// combine as in redis-server 7.0.15, whose CONFIG GET save gave each want
// for the same file and arguments (introspection.tcl's "CONFIG save params
// special case"): the first line replaces the default, later ones add,
// save "" empties.
func TestSaveLinesAsRedis(t *testing.T) {
	cases := []struct {
		file string
		args []string
		want string
	}{
		{"save 900 1\n", nil, "900 1"},
		{"save 900 1\n", []string{"--save", "100", "100"}, "900 1 100 100"},
		{"save 900 1\n", []string{"--save", ""}, ""},
		{"save 900 1\nsave \"\"\nsave 100 100\n", nil, "100 100"},
		{"save 900 1\n", []string{"--save", "", "--save", "5", "5"}, "5 5"},
	}
	for _, tc := range cases {
		path := filepath.Join(t.TempDir(), "redis.conf")
		os.WriteFile(path, []byte(tc.file), 0o644)
		c, err := Load(append([]string{path}, tc.args...))
		if err != nil {
			t.Fatalf("%q %q: %v", tc.file, tc.args, err)
		}
		if got := c.Value("save"); got != tc.want {
			t.Errorf("%q %q: save %q, want %q", tc.file, tc.args, got, tc.want)
		}
	}
}

func TestValidateNamesFieldAndValue(t *testing.T) {
	cases := map[string]string{
		"--appendfsync sometimes":   "at line 2\n>>> 'appendfsync \"sometimes\"'\nargument(s) must be one of the following: everysec, always, no",
		"--port 70000":              "at line 2\n>>> 'port \"70000\"'\nargument must be between 0 and 65535 inclusive",
		"--databases 0":             "at line 2\n>>> 'databases \"0\"'\nargument must be between 1 and 256 inclusive",
		"--hz x":                    "at line 2\n>>> 'hz \"x\"'\nargument couldn't be parsed into an integer",
		"--maxclients x":            "at line 2\n>>> 'maxclients \"x\"'\nargument couldn't be parsed into an integer",
		"--protected-mode maybe":    "at line 2\n>>> 'protected-mode \"maybe\"'\nargument must be 'yes' or 'no'",
		"--maxmemory 5zz":           "at line 2\n>>> 'maxmemory \"5zz\"'\nargument must be a memory value",
		"--port 1 --timeout 1 2":    "at line 3\n>>> 'timeout \"1\" \"2\"'\nwrong number of arguments",
		"--component-lock-lease 50": "component-lock-lease: 50 is below 100 ms",
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
		{`name="foo" x='a b'c`, nil, true},
		{`name="foo" x='a b'`, []string{"name=foo", "x=a b"}, false},
		{`"\x4" "\q"`, []string{"x4", "q"}, false},
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

func TestValidateChecksFields(t *testing.T) {
	c := Default()
	c.Port, c.Hz, c.MaxMemoryPolicy = -1, 0, "sometimes"
	err := c.Validate()
	for _, want := range []string{
		`port: "-1": argument must be between 0 and 65535 inclusive`,
		"hz: 0 is outside 1..500",
		`maxmemory-policy: "sometimes": argument(s) must be one of the following`,
	} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Validate() = %v, want %q", err, want)
		}
	}
}

// TestIncludeReadsAnotherFile: an include line reads the other file's
// directives in its place, as redis-server does, so a later line wins
// over it and it over an earlier one; a missing file and a file that
// includes itself are errors.
func TestIncludeReadsAnotherFile(t *testing.T) {
	dir := t.TempDir()
	other := filepath.Join(dir, "local.conf")
	os.WriteFile(other, []byte("maxmemory 10mb\nport 7100\nhz 20\n"), 0o644)
	path := filepath.Join(dir, "redis.conf")
	os.WriteFile(path, []byte("port 7000\nhz 50\ninclude "+other+"\nhz 30\n"), 0o644)
	c, err := Load([]string{path})
	if err != nil {
		t.Fatal(err)
	}
	if c.Port != 7100 || c.Value("hz") != "30" || c.Value("maxmemory") != "10485760" {
		t.Errorf("port %d, hz %s, maxmemory %s", c.Port, c.Value("hz"), c.Value("maxmemory"))
	}
	if len(c.Ignored) != 0 {
		t.Errorf("ignored %v", c.Ignored)
	}
	os.WriteFile(path, []byte("include "+filepath.Join(dir, "missing.conf")+"\n"), 0o644)
	if _, err := Load([]string{path}); err == nil || !strings.Contains(err.Error(), "missing.conf") {
		t.Errorf("a missing include: %v", err)
	}
	os.WriteFile(path, []byte("include "+path+"\n"), 0o644)
	if _, err := Load([]string{path}); err == nil || !strings.Contains(err.Error(), "nested") {
		t.Errorf("a file including itself: %v", err)
	}
}

// TestUserAndRenameLines: user and rename-command lines are kept for the
// server, in order, from a file or from flags.
func TestUserAndRenameLines(t *testing.T) {
	c, err := Load([]string{"--user", "default", "on", ">pw", "~*", "--rename-command", "flushall", ""})
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Users) != 1 || strings.Join(c.Users[0], " ") != "default on >pw ~*" {
		t.Errorf("users %q", c.Users)
	}
	if len(c.RenameCommands) != 1 || c.RenameCommands[0] != [2]string{"flushall", ""} {
		t.Errorf("renames %q", c.RenameCommands)
	}
	if len(c.Ignored) != 0 {
		t.Errorf("ignored %v", c.Ignored)
	}
}

// TestDuplicateUserLines: a user declared twice stops the start, with
// redis-server 7.0.15's words, the default user too.
func TestDuplicateUserLines(t *testing.T) {
	for _, name := range []string{"foo", "default"} {
		_, err := Load([]string{"--user", name, "--user", name})
		want := "Error in user declaration '" + name + "': Duplicate user found. A user can only be defined once in config files"
		if err == nil || !strings.HasSuffix(err.Error(), want) {
			t.Errorf("two %s lines: %v", name, err)
		}
	}
}

// TestCommandLineStdin: "-" reads standard input where redis-server
// reads it, first of the command line or last; after a file and before
// more options it is an option's value.
func TestCommandLineStdin(t *testing.T) {
	for _, tc := range []struct {
		args  []string
		file  bool
		stdin bool
	}{
		{[]string{"-"}, false, true},
		{[]string{"-", "--port", "7000"}, false, true},
		{[]string{"--port", "7000", "-"}, true, true},
		{[]string{"-", "--port", "7000"}, true, false},
	} {
		if _, stdin := commandLineOptions(tc.args, tc.file); stdin != tc.stdin {
			t.Errorf("%q after a file %v: stdin %v, want %v", tc.args, tc.file, stdin, tc.stdin)
		}
	}
}
