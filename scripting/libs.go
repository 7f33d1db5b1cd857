package scripting

import lua "github.com/yuin/gopher-lua"

// openLibs loads the libraries Redis adds to Lua's own.
func openLibs(L *lua.LState) {}
