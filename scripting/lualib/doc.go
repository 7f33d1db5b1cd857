// Package lualib holds the Lua libraries Redis 7.0 loads into every script
// and function: cjson (lua-cjson 2.1.0), cmsgpack (lua-cmsgpack 0.4.0),
// struct (Roberto Ierusalimschy's struct 0.2) and bit (LuaBitOp 1.0.2),
// written in Go for gopher-lua.
//
// Each Open function registers one global table in an *lua.LState, as
// redis-server does when it creates its Lua interpreter. The libraries keep
// the C originals' behaviour byte for byte: their output, their numeric
// edge cases and their error texts, including the "bad argument #n to 'f'"
// form of the Lua 5.1 auxiliary library and its position prefix. The tests
// compare each library with answers recorded from redis-server 7.0.15.
//
// A state's libraries must only be used from the goroutine that runs the
// state, as with everything in gopher-lua.
package lualib
