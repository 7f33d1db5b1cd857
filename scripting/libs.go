package scripting

import (
	lua "github.com/yuin/gopher-lua"

	"github.com/shoaldb/shoal/scripting/lualib"
)

// openLibs loads the libraries Redis adds to Lua's own: cjson, cmsgpack,
// struct and bit.
func openLibs(L *lua.LState) {
	lualib.OpenCJSON(L)
	lualib.OpenCMsgpack(L)
	lualib.OpenStruct(L)
	lualib.OpenBit(L)
}
