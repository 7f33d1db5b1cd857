package lualib_test

// bitCases cover LuaBitOp 1.0.2 as Redis 7.0 loads it.
var bitCases = []luaCase{
	{"tobit", `local r = {} for _, n in ipairs({0, 1, -1, 2^31, 2^31 - 1, -2^31, -2^31 - 1, 2^32, 2^32 + 1, 2^52, 2^53, 2^53 + 2, 2^63, -2^63, 1e300, 1.5, 2.5, -1.5, -2.5, 0.49, 4294967295, 1/0, -1/0, 0/0}) do r[#r + 1] = num(bit.tobit(n)) end return table.concat(r, ' ')`},
	{"tobit-strings", `return bit.tobit('12') .. ' ' .. bit.tobit('0x10') .. ' ' .. bit.tobit(' 5 ') .. ' ' .. bit.tobit('1e3') .. ' ' .. bit.tobit('0')`},
	{"tohex", `return bit.tohex(255) .. ' ' .. bit.tohex(-1) .. ' ' .. bit.tohex(255, 2) .. ' ' .. bit.tohex(255, -4) .. ' ' .. bit.tohex(0x12345678, 10) .. ' [' .. bit.tohex(1, 0) .. '] ' .. bit.tohex(0xabcdef, -8) .. ' ' .. bit.tohex(2^32 + 10) .. ' ' .. bit.tohex(-2^31, 3)`},
	{"bnot", `return bit.bnot(0) .. ' ' .. bit.bnot(-1) .. ' ' .. bit.bnot(2^31) .. ' ' .. bit.bnot(0x12345678)`},
	{"band-bor-bxor", `return bit.band(0xff, 0x0f) .. ' ' .. bit.band(-1, 0x7fffffff, 0xf0f0) .. ' ' .. bit.bor(1, 2, 4, 8, 2^31) .. ' ' .. bit.bxor(-1, 0x55555555) .. ' ' .. bit.bxor(5) .. ' ' .. bit.band(2^32 + 3, 7) .. ' ' .. bit.bor(-2^31, 1)`},
	{"shifts", `return bit.lshift(1, 31) .. ' ' .. bit.lshift(1, 32) .. ' ' .. bit.lshift(1, -1) .. ' ' .. bit.rshift(-1, 1) .. ' ' .. bit.rshift(-1, 0) .. ' ' .. bit.arshift(-256, 4) .. ' ' .. bit.arshift(2^31, 31) .. ' ' .. bit.lshift(0x7fffffff, 1) .. ' ' .. bit.rshift(1, 33)`},
	{"rotates", `return bit.rol(0x12345678, 4) .. ' ' .. bit.ror(0x12345678, 4) .. ' ' .. bit.rol(1, 0) .. ' ' .. bit.ror(1, 0) .. ' ' .. bit.rol(-1, 13) .. ' ' .. bit.ror(1, 1) .. ' ' .. bit.rol(2^31, 33)`},
	{"bswap", `return bit.bswap(0x12345678) .. ' ' .. bit.bswap(-1) .. ' ' .. bit.bswap(1) .. ' ' .. bit.tohex(bit.bswap(0xaabbccdd))`},
	{"errors", `return err(bit.tobit) .. '|' .. err(bit.tobit, 'abc') .. '|' .. err(bit.tobit, {}) .. '|' .. err(bit.tobit, nil) .. '|' .. err(bit.tobit, true) .. '|' .. err(bit.band) .. '|' .. err(bit.band, 1, 'x') .. '|' .. err(bit.band, 1, 'x', {}) .. '|' .. err(bit.lshift, 1) .. '|' .. err(bit.tohex, 1, nil) .. '|' .. err(function() return bit.bor(1, {}) end)`},
	{"non-numbers-reading-nonzero", `return bit.tobit('4294967296') .. ' ' .. err(bit.tobit, '4294967296x') .. ' ' .. err(bit.tobit, '')`},
}
