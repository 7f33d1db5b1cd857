package lualib_test

import (
	"errors"
	"strings"
	"testing"

	lua "github.com/yuin/gopher-lua"
)

// FuzzDecoders feeds arbitrary bytes to every function that reads input a
// script may take from a key: cjson.decode, cmsgpack.unpack, unpack_one
// and unpack_limit, struct.unpack (as data and as a format), struct.pack
// and struct.size (as a format). Each may succeed or raise a Lua error;
// a Go panic (an index out of range, a huge allocation) fails. Plain
// go test runs the seeds.
//
// NB: msgpack maps with 32- and 64-bit number keys are left out: gopher-lua
// keeps every integer key below 2^26 in a table's array part, so a map
// {[67108863] = 1} makes it fill 67 million slots (as t[67108863] = 1 in a
// script does), which takes the fuzzer's time without telling anything of
// this package.
func FuzzDecoders(f *testing.F) {
	for _, seed := range []string{
		"", "{", `{"a":[1,2,{"b":null}]}`, `"\ud83d\ude00"`, "[0x10, inf, -nan]",
		"\x93\x01\x02\x03", "\xdd\xff\xff\xff\xff", "\xdb\xff\xff\xff\xff", "\x81\xc0\x01",
		"\xcf\xff\xff\xff\xff\xff\xff\xff\xff", "!4 b i c0 s", "c2147483647", "i32 I9 <>! x",
		"b c0", "!16 d f T", "c99999999999",
	} {
		f.Add(seed)
	}
	L := newState()
	defer L.Close()
	calls := []struct {
		name string
		args func(s lua.LString) []lua.LValue
	}{
		{"cjson.decode", func(s lua.LString) []lua.LValue { return []lua.LValue{s} }},
		{"cmsgpack.unpack", func(s lua.LString) []lua.LValue { return []lua.LValue{s} }},
		{"cmsgpack.unpack_one", func(s lua.LString) []lua.LValue { return []lua.LValue{s, lua.LNumber(1)} }},
		{"cmsgpack.unpack_limit", func(s lua.LString) []lua.LValue { return []lua.LValue{s, lua.LNumber(2), lua.LNumber(1)} }},
		{"struct.unpack", func(s lua.LString) []lua.LValue { return []lua.LValue{lua.LString("!4 b h i c0 s d"), s} }},
		{"struct.unpack", func(s lua.LString) []lua.LValue {
			return []lua.LValue{s, lua.LString("\x03abcdefgh\x00ijklmnopqrstuvwxyz0123456789")}
		}},
		{"struct.pack", func(s lua.LString) []lua.LValue {
			return []lua.LValue{s, lua.LNumber(1), lua.LString("ab"), lua.LNumber(-2)}
		}},
		{"struct.size", func(s lua.LString) []lua.LValue { return []lua.LValue{s} }},
	}
	f.Fuzz(func(t *testing.T, input string) {
		bigKeys := hasByte(input, func(b byte) bool { return b&0xf0 == 0x80 || b == 0xde || b == 0xdf }) &&
			hasByte(input, func(b byte) bool { return b == 0xca || b == 0xcb || b == 0xce || b == 0xcf || b == 0xd2 || b == 0xd3 })
		for _, c := range calls {
			if bigKeys && strings.HasPrefix(c.name, "cmsgpack.") {
				continue
			}
			fn, err := L.LoadString("return " + c.name + "(...)")
			if err != nil {
				t.Fatal(err)
			}
			L.Push(fn)
			args := c.args(lua.LString(input))
			for _, a := range args {
				L.Push(a)
			}
			err = L.PCall(len(args), lua.MultRet, nil)
			L.SetTop(0)
			var apiErr *lua.ApiError
			if errors.As(err, &apiErr) && apiErr.Type == lua.ApiErrorPanic {
				t.Fatalf("%s(%q) panicked: %v", c.name, input, err)
			}
		}
	})
}

func hasByte(s string, match func(byte) bool) bool {
	for i := 0; i < len(s); i++ {
		if match(s[i]) {
			return true
		}
	}
	return false
}
