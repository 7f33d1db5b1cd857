package commands_test

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/shoaldb/shoal/commands"
	"github.com/shoaldb/shoal/internal/testutil"
)

// TestCommandDocs compares Shoal's COMMAND INFO and COMMAND DOCS of every
// command redis-server 7.0.15 has, and its replies to commandScript, with
// Redis's in testdata/commanddocs.golden. Each difference is reported by
// command and field with Redis's and Shoal's values; it fails unless
// commandDocsExceptions explains it. Shoal's own commands must be the ones
// shoalOnlyCommands lists.
func TestCommandDocs(t *testing.T) {
	if *commandDocsRecord != "" {
		recordCommandDocs(t, *commandDocsRecord)
		return
	}
	golden := readGolden(t, commandDocsGolden)
	ctx := context.Background()
	s := testutil.Start(t, nil)
	clients := map[int]func(string) string{}
	for _, proto := range []int{2, 3} {
		c := testutil.Client(t, s, proto)
		clients[proto] = func(line string) string { return runCommandLine(ctx, c, line) }
	}
	used := map[int]bool{}
	for _, g := range golden {
		switch {
		case strings.HasPrefix(g.cmd, "COMMAND LIST"), g.cmd == "COMMAND COUNT":
			checkCommandList(t, g, clients, used)
		default:
			checkCommandLine(t, g, clients, used)
		}
	}
	for i, e := range commandDocsExceptions {
		if !used[i] {
			t.Errorf("exception %q %q is not needed any more: remove it", e.cmd, e.field)
		}
	}
	// Every command Shoal has and Redis has not is one shoalOnlyCommands
	// names, and every one it names is Shoal's.
	redisList := redisListed(t, golden)
	var shoalList []string
	for _, n := range parseRendered(t, clients[3]("COMMAND LIST")).([]any) {
		shoalList = append(shoalList, n.(string))
	}
	for _, n := range shoalList {
		if _, ok := shoalOnlyCommands[n]; !ok && !slices.Contains(redisList, n) {
			t.Errorf("%s: Shoal has it, redis-server 7.0.15 has not: add it to shoalOnlyCommands with why", n)
		}
	}
	for n := range shoalOnlyCommands {
		if !slices.Contains(shoalList, n) {
			t.Errorf("%s: in shoalOnlyCommands but not in Shoal's COMMAND LIST", n)
		}
	}
}

// redisListed returns the names of redis-server 7.0.15's COMMAND LIST.
func redisListed(t *testing.T, golden []recorded) []string {
	for _, g := range golden {
		if g.cmd == "COMMAND LIST" {
			var out []string
			for _, n := range parseRendered(t, g.reply[3]).([]any) {
				out = append(out, n.(string))
			}
			return out
		}
	}
	t.Fatal("no COMMAND LIST in " + commandDocsGolden)
	return nil
}

// exception is a difference from redis-server 7.0.15 that the test
// accepts, with its reason: cmd is the golden file's line, field the path
// of the differing field ("" for the whole reply).
type exception struct {
	cmd, field, reason string
}

// unimplemented are the Redis 7.0 commands Shoal does not serve (README,
// "Differences from Redis"); COMMAND INFO answers nil for them and COMMAND
// DOCS leaves them out, as Redis does for a command it does not know.
var unimplemented = map[string]string{
	// None: Shoal serves every command redis-server 7.0.15 has.
}

// unimplementedSubs are the subcommands of containers Shoal serves that it
// does not.
var unimplementedSubs = map[string]string{
	"cluster|addslots":              "slots are assigned by the catalog, not by hand",
	"cluster|addslotsrange":         "slots are assigned by the catalog, not by hand",
	"cluster|delslots":              "slots are assigned by the catalog, not by hand",
	"cluster|delslotsrange":         "slots are assigned by the catalog, not by hand",
	"cluster|flushslots":            "slots are assigned by the catalog, not by hand",
	"cluster|setslot":               "slots are assigned by the catalog, not by hand",
	"cluster|bumpepoch":             "epochs are the catalog's",
	"cluster|set-config-epoch":      "epochs are the catalog's",
	"cluster|count-failure-reports": "failures are detected by gossip, not by reports",
	"cluster|links":                 "gossip runs over memberlist, not cluster bus links",
	"cluster|saveconfig":            "the catalog persists itself",
}

// shoalOnlyCommands are the commands Shoal has and redis-server 7.0.15 has
// not, each with why.
var shoalOnlyCommands = map[string]string{
	"backup":             "Shoal's own: a checkpoint of the data folder",
	"waitall":            "Shoal's own: WAIT counting every replica",
	"waitaof":            "Redis 7.2's",
	"client|no-touch":    "Redis 7.2's",
	"client|setinfo":     "Redis 7.2's",
	"maintenance":        "Shoal's own admin command",
	"maintenance|start":  "Shoal's own admin command",
	"maintenance|end":    "Shoal's own admin command",
	"maintenance|status": "Shoal's own admin command",
	"maintenance|help":   "Shoal's own admin command",
	"component":          "Shoal's own admin command",
	"component|deploy":   "Shoal's own admin command",
	"component|undeploy": "Shoal's own admin command",
	"component|status":   "Shoal's own admin command",
	"component|list":     "Shoal's own admin command",
	"component|history":  "Shoal's own admin command",
	"component|help":     "Shoal's own admin command",
	"schema":             "Shoal's own admin command",
	"schema|epoch":       "Shoal's own admin command",
	"schema|status":      "Shoal's own admin command",
	"schema|resync":      "Shoal's own admin command",
	"schema|help":        "Shoal's own admin command",
	"replica":            "Shoal's own: REPLICA FORGET",
	"replica|forget":     "Shoal's own: REPLICA FORGET",
	"replica|help":       "Shoal's own: REPLICA FORGET",
}

// commandDocsExceptions are the differences from Redis that remain, each
// with its reason.
var commandDocsExceptions = []exception{
	{"COMMAND INFO zrank", "zrank.arity", "ZRANK takes Redis 7.2's WITHSCORE (server/testdata/golden/redis72.txt)"},
	{"COMMAND INFO zrevrank", "zrevrank.arity", "ZREVRANK takes Redis 7.2's WITHSCORE (server/testdata/golden/redis72.txt)"},
}

// explained reports whether a difference is an exception, marking it used.
func explained(cmd, field string, used map[int]bool) (string, bool) {
	for i, e := range commandDocsExceptions {
		if e.cmd == cmd && (e.field == "" || e.field == field || strings.HasPrefix(field, e.field+".")) {
			used[i] = true
			return e.reason, true
		}
	}
	return "", false
}

// checkCommandLine compares Shoal's reply to one line with Redis's: field
// by field over RESP3, then as a whole over RESP2, where the order of a
// map's fields shows.
func checkCommandLine(t *testing.T, g recorded, clients map[int]func(string) string, used map[int]bool) {
	t.Helper()
	name := ""
	if n, ok := strings.CutPrefix(g.cmd, "COMMAND INFO "); ok && !strings.Contains(n, " ") {
		name = n
	} else if n, ok := strings.CutPrefix(g.cmd, "COMMAND DOCS "); ok && !strings.Contains(n, " ") {
		name = n
	}
	if why, ok := unimplemented[name]; ok {
		got := clients[3](g.cmd)
		if got != "[(nil)]" && got != "{}" {
			t.Errorf("%s: %s is not implemented (%s), but Shoal answers %s", g.cmd, name, why, got)
		}
		return
	}
	got3 := clients[3](g.cmd)
	if got3 == g.reply[3] {
		if got2 := clients[2](g.cmd); got2 != g.reply[2] {
			t.Errorf("%s: RESP2 differs (order or shape)\n redis %s\n shoal %s", g.cmd, g.reply[2], got2)
		}
		return
	}
	want, got := parseRendered(t, g.reply[3]), parseRendered(t, got3)
	if strings.HasPrefix(g.cmd, "COMMAND INFO ") {
		want, got = infoAsMaps(want), infoAsMaps(got)
	}
	diffReplies("", want, got, func(field, w, s string) {
		sub := field[strings.LastIndex(field, ".")+1:]
		if why, ok := unimplementedSubs[sub]; ok && s == "(absent)" && strings.HasSuffix(field, "subcommands."+sub) {
			t.Logf("%s %s: not in Shoal: %s", g.cmd, field, why)
			return
		}
		if why, ok := shoalOnlyCommands[sub]; ok && w == "(absent)" && strings.HasSuffix(field, "subcommands."+sub) {
			t.Logf("%s %s: only in Shoal: %s", g.cmd, field, why)
			return
		}
		if why, ok := explained(g.cmd, field, used); ok {
			t.Logf("%s %s: redis %s, shoal %s (expected: %s)", g.cmd, field, w, s, why)
			return
		}
		t.Errorf("%s %s:\n redis %s\n shoal %s", g.cmd, field, w, s)
	})
}

// checkCommandList compares COMMAND LIST and COMMAND COUNT with Redis's
// without the commands one of them has and the other has not.
func checkCommandList(t *testing.T, g recorded, clients map[int]func(string) string, used map[int]bool) {
	t.Helper()
	omit := func(names []any, skip func(string) bool) []string {
		var out []string
		for _, n := range names {
			if !skip(n.(string)) {
				out = append(out, n.(string))
			}
		}
		return out
	}
	missing := func(n string) bool {
		top, _, _ := strings.Cut(n, "|")
		_, a := unimplemented[top]
		_, b := unimplementedSubs[n]
		return a || b
	}
	extra := func(n string) bool { _, ok := shoalOnlyCommands[n]; return ok }
	for _, proto := range []int{2, 3} {
		got := clients[proto](g.cmd)
		if g.cmd == "COMMAND COUNT" {
			want, _ := strconv.Atoi(strings.TrimPrefix(g.reply[proto], "(integer) "))
			want -= len(unimplemented)
			for n := range shoalOnlyCommands {
				if !strings.Contains(n, "|") {
					want++
				}
			}
			if got != fmt.Sprintf("(integer) %d", want) {
				t.Errorf("COMMAND COUNT: Shoal %s, want %d (Redis's %s with the commands one has and the other has not)", got, want, g.reply[proto])
			}
			continue
		}
		w, s := parseRendered(t, g.reply[proto]), parseRendered(t, got)
		wl, wok := w.([]any)
		sl, sok := s.([]any)
		if !wok || !sok {
			if got != g.reply[proto] {
				t.Errorf("%s (RESP%d):\n redis %s\n shoal %s", g.cmd, proto, g.reply[proto], got)
			}
			continue
		}
		if a, b := omit(wl, missing), omit(sl, extra); !slices.Equal(a, b) {
			t.Errorf("%s (RESP%d), without the commands only one has:\n redis %v\n shoal %v", g.cmd, proto, a, b)
		}
	}
}

// infoAsMaps turns COMMAND INFO's entries into maps by field, and their
// subcommands into a map by name, so that differences name their field.
func infoAsMaps(v any) any {
	list, ok := v.([]any)
	if !ok {
		return v
	}
	out := map[any]any{}
	for i, e := range list {
		entry, ok := e.([]any)
		if !ok || len(entry) != 10 {
			out[strconv.Itoa(i)] = e
			continue
		}
		out[entry[0]] = infoEntry(entry)
	}
	return out
}

var infoFields = []string{"name", "arity", "flags", "first_key", "last_key", "step", "acl_categories", "tips", "key_specs", "subcommands"}

func infoEntry(entry []any) map[any]any {
	m := map[any]any{}
	for i, f := range infoFields {
		m[f] = entry[i]
	}
	subs := map[any]any{}
	for _, s := range entry[9].([]any) {
		se := s.([]any)
		subs[se[0]] = infoEntry(se)
	}
	m["subcommands"] = subs
	return m
}

// diffReplies calls report for each field where got differs from want,
// naming it by its path of map keys and list indexes.
func diffReplies(path string, want, got any, report func(field, want, got string)) {
	join := func(k string) string {
		if path == "" {
			return k
		}
		return path + "." + k
	}
	wm, wok := want.(map[any]any)
	gm, gok := got.(map[any]any)
	if wok && gok {
		keys := map[string]any{}
		for k := range wm {
			keys[fmt.Sprint(k)] = k
		}
		for k := range gm {
			keys[fmt.Sprint(k)] = k
		}
		names := make([]string, 0, len(keys))
		for n := range keys {
			names = append(names, n)
		}
		sort.Strings(names)
		for _, n := range names {
			k := keys[n]
			w, inW := wm[k]
			g, inG := gm[k]
			switch {
			case !inW:
				report(join(n), "(absent)", showReply(g))
			case !inG:
				report(join(n), showReply(w), "(absent)")
			default:
				diffReplies(join(n), w, g, report)
			}
		}
		return
	}
	wl, wok := want.([]any)
	gl, gok := got.([]any)
	if wok && gok && len(wl) == len(gl) && slices.ContainsFunc(wl, isComposite) {
		for i := range wl {
			diffReplies(join(strconv.Itoa(i)), wl[i], gl[i], report)
		}
		return
	}
	if w, g := showReply(want), showReply(got); w != g {
		report(path, w, g)
	}
}

// showReply renders a value read back by parseRendered.
func showReply(v any) string {
	if err, ok := v.(error); ok {
		return renderReply(nil, err)
	}
	return renderReply(v, nil)
}

func isComposite(v any) bool {
	switch v.(type) {
	case []any, map[any]any:
		return true
	}
	return false
}

// parseRendered reads back a reply written by renderReply.
func parseRendered(t *testing.T, s string) any {
	t.Helper()
	p := &renderedParser{s: s}
	v, err := p.value()
	if err == nil && p.i != len(s) {
		err = fmt.Errorf("trailing %q", s[p.i:])
	}
	if err != nil {
		t.Fatalf("reading reply %.200q: %v", s, err)
	}
	return v
}

type renderedParser struct {
	s string
	i int
}

func (p *renderedParser) value() (any, error) {
	rest := p.s[p.i:]
	switch {
	case strings.HasPrefix(rest, `"`):
		q, err := strconv.QuotedPrefix(rest)
		if err != nil {
			return nil, err
		}
		p.i += len(q)
		return strconv.Unquote(q)
	case strings.HasPrefix(rest, "(nil)"):
		p.i += len("(nil)")
		return nil, nil
	case strings.HasPrefix(rest, "(error) "):
		p.i = len(p.s)
		return fmt.Errorf("%s", strings.TrimPrefix(rest, "(error) ")), nil
	case strings.HasPrefix(rest, "(integer) "), strings.HasPrefix(rest, "(double) "), strings.HasPrefix(rest, "(bool) "):
		kind, num, _ := strings.Cut(rest, " ")
		end := strings.IndexAny(num, ",]}")
		if end < 0 {
			end = len(num)
		}
		p.i += len(kind) + 1 + end
		switch kind {
		case "(integer)":
			return strconv.ParseInt(num[:end], 10, 64)
		case "(double)":
			return strconv.ParseFloat(num[:end], 64)
		}
		return strconv.ParseBool(num[:end])
	case strings.HasPrefix(rest, "["):
		p.i++
		out := []any{}
		for !strings.HasPrefix(p.s[p.i:], "]") {
			v, err := p.value()
			if err != nil {
				return nil, err
			}
			out = append(out, v)
			p.i += len(", ") * btoi(strings.HasPrefix(p.s[p.i:], ", "))
		}
		p.i++
		return out, nil
	case strings.HasPrefix(rest, "{"):
		p.i++
		out := map[any]any{}
		for !strings.HasPrefix(p.s[p.i:], "}") {
			k, err := p.value()
			if err != nil {
				return nil, err
			}
			if !strings.HasPrefix(p.s[p.i:], ": ") {
				return nil, fmt.Errorf("no ': ' at %d", p.i)
			}
			p.i += 2
			v, err := p.value()
			if err != nil {
				return nil, err
			}
			out[k] = v
			p.i += len(", ") * btoi(strings.HasPrefix(p.s[p.i:], ", "))
		}
		p.i++
		return out, nil
	}
	return nil, fmt.Errorf("unexpected %.40q at %d", rest, p.i)
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}

// keyPositionExceptions are the lines where the table's key positions
// differ from Redis's key specs, with why.
var keyPositionExceptions = map[string]string{
	"XREAD STREAMS a b 0": "unbalanced streams and IDs: Shoal finds no key, as Redis's xreadGetKeys, and XREAD answers its syntax error",
}

// TestKeyPositionsAgreeWithKeySpecs checks that the key positions cluster
// routing, WATCH and the key locks read (Command.KeyPositions) find the
// keys redis-server 7.0.15 found by its key specs in each COMMAND GETKEYS
// line of commanddocs.golden.
func TestKeyPositionsAgreeWithKeySpecs(t *testing.T) {
	tab := commands.Default()
	for _, g := range readGolden(t, commandDocsGolden) {
		line, ok := strings.CutPrefix(g.cmd, "COMMAND GETKEYS ")
		if !ok {
			continue
		}
		want, ok := parseRendered(t, g.reply[3]).([]any)
		if !ok {
			continue // Redis refused it
		}
		var args [][]byte
		for _, a := range strings.Split(line, " ") {
			args = append(args, []byte(strings.Trim(a, `"`)))
		}
		cmd := tab.Lookup(args[0])
		if cmd != nil && len(cmd.Subcommands) > 0 {
			cmd = cmd.Sub(args[1])
		}
		if cmd == nil {
			if _, ok := unimplemented[strings.ToLower(string(args[0]))]; !ok {
				t.Errorf("%s: no such command in the table", line)
			}
			continue
		}
		var got []any
		for _, p := range cmd.KeyPositions(args) {
			got = append(got, string(args[p]))
		}
		if why, ok := keyPositionExceptions[line]; ok {
			t.Logf("%s: key positions give %v, Redis's key specs %v: %s", line, got, want, why)
			continue
		}
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("%s: key positions give %v, Redis's key specs %v", line, got, want)
		}
	}
}
