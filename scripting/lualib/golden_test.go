package lualib_test

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	lua "github.com/yuin/gopher-lua"

	"github.com/shoaldb/shoal/scripting/lualib"
)

// Golden results: each case is a Lua snippet that builds a string, run with
// EVAL "<prelude><snippet>" 0 on redis-server 7.0.15 and recorded in
// testdata/<library>.txt as
//
//	> the snippet
//	"the result, Go-quoted"
//
// The test runs the same snippet in a fresh gopher-lua state with the base,
// table, string and math libraries and this package's, and compares.
// SHOAL_LUALIB_RECORD=1 re-records the files from a redis-server it starts
// (record_test.go); the expectations always come from Redis.

// prelude is put before every snippet, on the snippet's first line so that
// positions in error messages ("user_script:1:") match. It defines only
// locals: Redis refuses new globals in scripts.
//
//   - hex(s): the bytes of s in hexadecimal.
//   - num(x): x as "%.17g", with inf, -inf and nan spelt the same on both
//     sides (C and Go print them differently).
//   - show(v): a value as text, tables with their keys sorted, cjson.null
//     as null.
//   - all(...): how many values there are, and each shown.
//   - err(f, ...): "ok" when f(...) succeeds, else the error message.
const prelude = `local function hex(s) return (string.gsub(s, '.', function(c) return string.format('%02x', string.byte(c)) end)) end ` +
	`local function num(x) if x ~= x then return 'nan' elseif x == 1/0 then return 'inf' elseif x == -1/0 then return '-inf' end return string.format('%.17g', x) end ` +
	`local show ` +
	`local function before(a, b) local ta, tb = type(a), type(b) if ta ~= tb then return ta < tb elseif ta == 'number' or ta == 'string' then return a < b end return tostring(a) < tostring(b) end ` +
	`show = function(v) local t = type(v) if t == 'number' then return num(v) elseif t == 'string' then return '"' .. v .. '"' elseif t == 'table' then ` +
	`local ks = {} for k in pairs(v) do ks[#ks + 1] = k end table.sort(ks, before) ` +
	`local out = {} for i = 1, #ks do out[i] = show(ks[i]) .. '=' .. show(v[ks[i]]) end return '{' .. table.concat(out, ',') .. '}' ` +
	`elseif v == cjson.null then return 'null' end return tostring(v) end ` +
	`local function all(...) local n = select('#', ...) local t = {...} local out = {} for i = 1, n do out[i] = show(t[i]) end return n .. ':' .. table.concat(out, ' ') end ` +
	`local function err(f, ...) local ok, e = pcall(f, ...) if ok then return 'ok' end return tostring(e) end `

// luaCase is one snippet; its name says what it shows.
type luaCase struct {
	name   string
	script string
}

// libraries are the golden files and the cases each holds.
var libraries = []struct {
	file  string
	cases []luaCase
}{
	{"cjson.txt", cjsonCases},
	{"cmsgpack.txt", cmsgpackCases},
	{"struct.txt", structCases},
	{"bit.txt", bitCases},
}

// golden is one recorded case.
type golden struct {
	script string
	result string
}

// goldenHeader starts each file.
const goldenHeader = `# Recorded from redis-server 7.0.15: each snippet ran as EVAL "<prelude><snippet>" 0
# (see golden_test.go); re-record with SHOAL_LUALIB_RECORD=1 go test ./scripting/lualib -run TestRecord
`

func readGolden(t *testing.T, file string) map[string]golden {
	f, err := os.Open(filepath.Join("testdata", file))
	if err != nil {
		t.Fatalf("%v (record it with SHOAL_LUALIB_RECORD=1)", err)
	}
	defer f.Close()
	out := map[string]golden{}
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	var name string
	var g golden
	for sc.Scan() {
		line := sc.Text()
		switch {
		case line == "" || strings.HasPrefix(line, "# "):
		case strings.HasPrefix(line, "## "):
			name = strings.TrimPrefix(line, "## ")
		case strings.HasPrefix(line, "> "):
			g.script = strings.TrimPrefix(line, "> ")
		default:
			r, err := strconv.Unquote(line)
			if err != nil {
				t.Fatalf("%s: case %s: %v", file, name, err)
			}
			g.result = r
			out[name] = g
			g = golden{}
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

func writeGolden(file string, cases []luaCase, results map[string]string) error {
	var b strings.Builder
	b.WriteString(goldenHeader)
	for _, c := range cases {
		fmt.Fprintf(&b, "\n## %s\n> %s\n%s\n", c.name, c.script, strconv.Quote(results[c.name]))
	}
	return os.WriteFile(filepath.Join("testdata", file), []byte(b.String()), 0o644)
}

// newState is a gopher-lua state with what Redis loads into scripts that
// these snippets use. Its data stack may grow to hold the 7999 values that
// cmsgpack.unpack returns at most.
func newState() *lua.LState {
	L := lua.NewState(lua.Options{SkipOpenLibs: true, RegistrySize: 1024, RegistryMaxSize: 64 * 1024})
	for _, lib := range []struct {
		name string
		open lua.LGFunction
	}{
		{lua.BaseLibName, lua.OpenBase},
		{lua.TabLibName, lua.OpenTable},
		{lua.StringLibName, lua.OpenString},
		{lua.MathLibName, lua.OpenMath},
	} {
		L.Push(L.NewFunction(lib.open))
		L.Push(lua.LString(lib.name))
		L.Call(1, 0)
	}
	lualib.OpenCJSON(L)
	lualib.OpenCMsgpack(L)
	lualib.OpenStruct(L)
	lualib.OpenBit(L)
	return L
}

// run runs one snippet as Redis's EVAL would: a chunk named user_script
// whose first result must be a string.
func run(script string) (string, error) {
	L := newState()
	defer L.Close()
	fn, err := L.Load(strings.NewReader(prelude+script), "user_script")
	if err != nil {
		return "", err
	}
	L.Push(fn)
	if err := L.PCall(0, 1, nil); err != nil {
		return "", err
	}
	s, ok := L.Get(-1).(lua.LString)
	if !ok {
		return "", fmt.Errorf("the snippet returned %s, not a string", L.Get(-1).Type())
	}
	return string(s), nil
}

func TestLibrariesMatchRedis(t *testing.T) {
	for _, lib := range libraries {
		want := readGolden(t, lib.file)
		for _, c := range lib.cases {
			t.Run(strings.TrimSuffix(lib.file, ".txt")+"/"+c.name, func(t *testing.T) {
				g, ok := want[c.name]
				if !ok || g.script != c.script {
					t.Fatalf("%s has no recording of this snippet; re-record with SHOAL_LUALIB_RECORD=1", lib.file)
				}
				got, err := run(c.script)
				if err != nil {
					t.Fatalf("%s\n%v", c.script, err)
				}
				if got != g.result {
					t.Errorf("%s\ngot:  %q\nwant: %q", c.script, got, g.result)
				}
			})
		}
	}
}

func TestCaseNamesAreUnique(t *testing.T) {
	for _, lib := range libraries {
		seen := map[string]bool{}
		for _, c := range lib.cases {
			if seen[c.name] {
				t.Errorf("%s: case %q twice", lib.file, c.name)
			}
			if strings.Contains(c.script, "\n") {
				t.Errorf("%s: case %q spans lines; the golden file keeps one line a snippet", lib.file, c.name)
			}
			seen[c.name] = true
		}
	}
}
