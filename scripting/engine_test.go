package scripting

import (
	"testing"

	"github.com/shoaldb/shoal/resp"
)

type echoHost struct{}

func (echoHost) ACLCheckCmd(*Run, [][]byte) (bool, error) { return true, nil }

func (echoHost) Call(run *Run, args [][]byte, out *resp.Writer) error {
	switch string(args[0]) {
	case "nosuch":
		return &ReplyError{"Unknown Redis command called from script"}
	case "wrongtype":
		out.Error("WRONGTYPE Operation against a key holding the wrong kind of value")
		return nil
	}
	out.Array(len(args))
	for _, a := range args {
		out.Bulk(a)
	}
	return nil
}

func evalString(t *testing.T, e *Engine, body string, proto int) string {
	t.Helper()
	s, err := e.Load([]byte(body))
	if err != nil {
		return "LOADERR " + err.Error()
	}
	var out resp.Writer
	out.SetProto(proto)
	run := &Run{Name: s.SHA, Host: echoHost{}, Keys: [][]byte{[]byte("k1")}, Args: [][]byte{[]byte("a1"), []byte("a2")}, ClientProto: proto}
	if err := e.Eval(run, s, &out); err != nil {
		t.Fatal(err)
	}
	return string(out.Bytes())
}

func TestEvalBasics(t *testing.T) {
	e := New(nil, "7.0.15", 0x07000f)
	for _, c := range []struct{ body, want string }{
		{"return 1", ":1\r\n"},
		{"return 3.99", ":3\r\n"},
		{"return 'x'", "$1\r\nx\r\n"},
		{"return true", ":1\r\n"},
		{"return false", "$-1\r\n"},
		{"return nil", "$-1\r\n"},
		{"return {1,2,'x',nil,4}", "*3\r\n:1\r\n:2\r\n$1\r\nx\r\n"},
		{"return KEYS[1] .. ARGV[2]", "$4\r\nk1a2\r\n"},
		{"return redis.call('echo', 1, 0.1)", "*3\r\n$4\r\necho\r\n$1\r\n1\r\n$19\r\n0.10000000000000001\r\n"},
		{"return redis.call('nosuch')", "-ERR Unknown Redis command called from script script: 206396248e12c6e742fd7296250433c8d7343b74, on @user_script:1.\r\n"},
		{"return redis.pcall('nosuch')", "-ERR Unknown Redis command called from script\r\n"},
		{"return redis.call('wrongtype')", "-WRONGTYPE Operation against a key holding the wrong kind of value script: 0c09f69cdff24487907f96e21f45a59994fdc5ec, on @user_script:1.\r\n"},
		{"x = 1", "-ERR user_script:1: Attempt to modify a readonly table script: 34bce5f775de97f557a34088509c8bfe1ea17e52, on @user_script:1.\r\n"},
		{"return x", "-ERR user_script:1: Script attempted to access nonexistent global variable 'x' script: 03c387736bb5cc009ff35151572cee04677aa374, on @user_script:1.\r\n"},
		{"error('boom')", "-ERR user_script:1: boom script: 82903a0434f1503e152f89c03c9acd881a0e8150, on @user_script:1.\r\n"},
		{"error({err='My Error'})", "-My Error script: e115b36aa4ca34249363168860134d6f8b667d30, on @user_script:1.\r\n"},
		{"return redis.error_reply('X y z')", "-X y z\r\n"},
		{"return {err='ERR custom'}", "-ERR custom\r\n"},
		{"return {ok='fine'}", "+fine\r\n"},
		{"return {double=3.14}", "$18\r\n3.1400000000000001\r\n"},
		// As Lua 5.1, the error names the variable.
		{"local a = nil; return a.b", "-ERR user_script:1: attempt to index local 'a' (a nil value) script: a4f98b90454ae717765b45eb6f71312d37f994c6, on @user_script:1.\r\n"},
		{"return 1 + nil", "-ERR user_script:1: attempt to perform arithmetic on a nil value script: e8f647a6e338d050a115f7d097171925636246d4, on @user_script:1.\r\n"},
		// Lua 5.1 says what it expected ("'=' expected near 'error'").
		{"syntax error here", "LOADERR ERR Error compiling script (new function): user_script:1: parse error near 'error'"},
		{"return tostring(1/0) .. tostring(0.1) .. tostring(1e100)", "$12\r\ninf0.11e+100\r\n"},
		{"return redis.sha1hex('')", "$40\r\nda39a3ee5e6b4b0d3255bfef95601890afd80709\r\n"},
		{"local t={} for k,v in pairs(_G) do t[#t+1]=k end table.sort(t) return table.concat(t, ' ')", "$271\r\nARGV KEYS _G _VERSION __redis__err__handler assert bit cjson cmsgpack collectgarbage coroutine error gcinfo getmetatable ipairs load loadstring math next pairs pcall rawequal rawget rawset redis select setmetatable string struct table tonumber tostring type unpack xpcall\r\n"},
	} {
		if got := evalString(t, e, c.body, 2); got != c.want {
			t.Errorf("%s:\n got %q\nwant %q", c.body, got, c.want)
		}
	}
}
