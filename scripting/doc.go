// Package scripting runs Redis's Lua scripts and functions on gopher-lua
// (Lua 5.1, the dialect Redis embeds).
package scripting

import _ "github.com/yuin/gopher-lua" // the interpreter scripts run on
