package lualib_test

// cmsgpackCases cover lua-cmsgpack 0.4.0 as Redis 7.0 loads it. Packed maps
// with more than one key are checked by their header and length, or
// unpacked again: their key order follows the table's iteration order,
// which gopher-lua and C Lua do not share.
var cmsgpackCases = []luaCase{
	{"module", `return cmsgpack._NAME .. '|' .. cmsgpack._VERSION .. '|' .. cmsgpack._COPYRIGHT .. '|' .. cmsgpack._DESCRIPTION`},

	// Packing numbers: each integer size class, then floats.
	{"pack-positive-integers", `local r = {} for _, n in ipairs({0, 1, 127, 128, 255, 256, 65535, 65536, 2^32 - 1, 2^32, 2^53, 2^53 + 2, 2^62}) do r[#r + 1] = hex(cmsgpack.pack(n)) end return table.concat(r, ' ')`},
	{"pack-negative-integers", `local r = {} for _, n in ipairs({-1, -32, -33, -128, -129, -32768, -32769, -2^31, -2^31 - 1, -2^53, -2^63}) do r[#r + 1] = hex(cmsgpack.pack(n)) end return table.concat(r, ' ')`},
	{"pack-floats", `local r = {} for _, n in ipairs({0.5, -0.25, 3.25, 0.1, 1/3, 1e300, -1e-300, 2^63, 2^64, -2^64, 1.5e38, 3.5e38, 1e-45, -0}) do r[#r + 1] = hex(cmsgpack.pack(n)) end return table.concat(r, ' ')`},
	{"pack-inf-nan", `return hex(cmsgpack.pack(1/0)) .. ' ' .. hex(cmsgpack.pack(-1/0)) .. ' ' .. hex(cmsgpack.pack(0/0)) .. ' ' .. hex(cmsgpack.pack(cjson.decode('nan'))) .. ' ' .. hex(cmsgpack.pack(cjson.decode('-nan'))) .. ' ' .. hex(struct.pack('>d', cjson.decode('nan')))`},

	// Packing strings: fix str, str 8, str 16, str 32.
	{"pack-strings", `local r = {} for _, n in ipairs({0, 1, 31, 32, 255, 256, 65535, 65536}) do local p = cmsgpack.pack(string.rep('x', n)) r[#r + 1] = hex(string.sub(p, 1, 5)) .. '/' .. #p end return table.concat(r, ' ')`},
	{"pack-binary-string", `return hex(cmsgpack.pack('\0\1\255'))`},

	// Packing other types.
	{"pack-booleans-and-nil", `return hex(cmsgpack.pack(true)) .. hex(cmsgpack.pack(false)) .. hex(cmsgpack.pack(nil)) .. hex(cmsgpack.pack(cjson.null)) .. hex(cmsgpack.pack(string.len))`},
	{"pack-arrays", `return hex(cmsgpack.pack({})) .. ' ' .. hex(cmsgpack.pack({1, 2, 3})) .. ' ' .. hex(cmsgpack.pack({'a', {true}, {}}))`},
	{"pack-array-sizes", `local r = {} for _, n in ipairs({15, 16, 65535, 65536}) do local t = {} for i = 1, n do t[i] = 0 end local p = cmsgpack.pack(t) r[#r + 1] = hex(string.sub(p, 1, 5)) .. '/' .. #p end return table.concat(r, ' ')`},
	{"pack-maps", `return hex(cmsgpack.pack({a = 1})) .. ' ' .. hex(cmsgpack.pack({[0] = 'z'})) .. ' ' .. hex(cmsgpack.pack({[1.5] = true})) .. ' ' .. hex(cmsgpack.pack({[-1] = 1})) .. ' ' .. hex(cmsgpack.pack({[2^31] = 1}))`},
	{"pack-map-sizes", `local r = {} for _, n in ipairs({15, 16, 65535, 65536}) do local t = {} for i = 1, n do t['k' .. i] = 0 end local p = cmsgpack.pack(t) r[#r + 1] = hex(string.sub(p, 1, ({[15] = 1, [16] = 3, [65535] = 3, [65536] = 5})[n])) .. '/' .. #p end return table.concat(r, ' ')`},
	{"pack-holes-make-maps", `local t = {1, 2} t[4] = 4 local p = cmsgpack.pack(t) return hex(string.sub(p, 1, 1)) .. '/' .. #p .. ' ' .. show(cmsgpack.unpack(p))`},
	{"pack-nesting-limit", `local t = {} local cur = t for i = 1, 20 do cur[1] = {} cur = cur[1] end return hex(cmsgpack.pack(t))`},
	{"pack-cycle", `local t = {} t[1] = t return hex(cmsgpack.pack(t)) .. ' ' .. hex(cmsgpack.pack({x = {y = 'z'}}))`},
	{"pack-several", `return hex(cmsgpack.pack(1, 'a', {2}, nil, true))`},
	{"pack-arguments", `local t = {} for i = 1, 4001 do t[i] = 1 end local ok = #cmsgpack.pack(unpack(t, 1, 4000)) return err(cmsgpack.pack) .. '|' .. ok .. '|' .. err(cmsgpack.pack, unpack(t))`},

	// Unpacking each encoding.
	{"unpack-integers", `return all(cmsgpack.unpack('\0\127\204\255\205\255\255\206\255\255\255\255\207\0\0\0\1\0\0\0\0\255\224\208\128\209\128\0\210\128\0\0\0\211\255\255\255\255\255\255\255\254'))`},
	{"unpack-uint64-high", `return all(cmsgpack.unpack('\207\255\255\255\255\255\255\255\255\207\128\0\0\0\0\0\0\0\207\0\32\0\0\0\0\0\1'))`},
	{"unpack-floats", `return all(cmsgpack.unpack('\202\63\192\0\0\203\63\185\153\153\153\153\153\154\202\127\128\0\0\202\255\128\0\0\203\0\0\0\0\0\0\0\1'))`},
	{"unpack-strings", `local s = string.rep('y', 300) return all(cmsgpack.unpack('\160\163abc\217\3def\218\0\2gh\219\0\0\0\1i')) .. ' ' .. (cmsgpack.unpack(cmsgpack.pack(s)) == s and 'long ok' or 'long bad')`},
	{"unpack-tables", `return all(cmsgpack.unpack('\147\1\2\3\129\161a\1\220\0\2\192\195\222\0\1\1\2\221\0\0\0\1\144\223\0\0\0\0\144\128'))`},
	{"unpack-nil-in-array", `local t = cmsgpack.unpack('\147\1\192\3') return show(t)`},
	{"unpack-nil-and-booleans", `return all(cmsgpack.unpack('\192\194\195\192'))`},
	{"unpack-empty", `return all(cmsgpack.unpack(''))`},
	{"unpack-number-argument", `return all(cmsgpack.unpack(123))`},
	{"unpack-errors", `local r = '' for _, s in ipairs({'\205\1', '\193', '\196\1a', '\199\0\0', '\212\1\1', '\147\1\2', '\130\1', '\203\0\0', '\219\0\0\0\5ab', '\1\2\204'}) do r = r .. '|' .. err(cmsgpack.unpack, s) end return r`},
	{"unpack-bad-keys", `return err(cmsgpack.unpack, '\129\192\1') .. '|' .. err(cmsgpack.unpack, '\129\203\127\248\0\0\0\0\0\0\1') .. '|' .. show(cmsgpack.unpack('\129\1\192'))`},
	{"unpack-arguments", `return err(cmsgpack.unpack) .. '|' .. err(cmsgpack.unpack, {}) .. '|' .. err(cmsgpack.unpack, nil) .. '|' .. err(function() return cmsgpack.unpack() end)`},
	{"unpack-many-values", `local ok = select('#', cmsgpack.unpack(string.rep('\1', 7999))) return ok .. '|' .. err(cmsgpack.unpack, string.rep('\1', 8000))`},
	{"unpack-deep-nesting", `local s = string.rep('\145', 100) .. '\1' local t = cmsgpack.unpack(s) local d = 0 while type(t) == 'table' do t = t[1] d = d + 1 end return d .. ' ' .. t`},
	{"unpack-stack-limit", `return err(cmsgpack.unpack, string.rep('\145', 5000) .. '\1') .. '|' .. err(cmsgpack.unpack, string.rep('\129\1', 5000) .. '\1') .. '|' .. err(cmsgpack.unpack, string.rep('\1', 7990) .. string.rep('\145', 5) .. '\1')`},

	// unpack_one and unpack_limit.
	{"unpack-one", `local s = cmsgpack.pack(1, 'two', {3}) local r = {} local off = 0 while off ~= -1 do local o, v = cmsgpack.unpack_one(s, off) r[#r + 1] = o .. '=' .. show(v) off = o end return table.concat(r, ' ') .. ' ' .. all(cmsgpack.unpack_one(s))`},
	{"unpack-limit", `local s = cmsgpack.pack(1, 2, 3, 4, 5) return all(cmsgpack.unpack_limit(s, 2)) .. ' ' .. all(cmsgpack.unpack_limit(s, 2, 2)) .. ' ' .. all(cmsgpack.unpack_limit(s, 10, 3)) .. ' ' .. all(cmsgpack.unpack_limit(s, 0)) .. ' ' .. all(cmsgpack.unpack_limit(s, 0, 4)) .. ' ' .. all(cmsgpack.unpack_limit(s, 1, 5))`},
	{"unpack-limit-errors", `local s = cmsgpack.pack(1, 2, 3) return err(cmsgpack.unpack_limit, s, -1) .. '|' .. err(cmsgpack.unpack_limit, s, 1, -2) .. '|' .. err(cmsgpack.unpack_limit, s, 1, 4) .. '|' .. err(cmsgpack.unpack_one, s, 10) .. '|' .. err(cmsgpack.unpack_limit, s) .. '|' .. err(cmsgpack.unpack_limit, s, 'x') .. '|' .. err(cmsgpack.unpack_one, s, {}) .. '|' .. all(cmsgpack.unpack_one(s, '1')) .. '|' .. all(cmsgpack.unpack_limit(s, 1.9, 0.5))`},
	{"unpack-one-truncated", `return err(cmsgpack.unpack_one, '\1\205\1', 1) .. '|' .. all(cmsgpack.unpack_one('\1\205\1', 0))`},

	// Round trips.
	{"round-trip", `local t = {a = {1, 2, {b = 'c'}}, d = true, e = -1.5, f = 2^40, g = 'h\0i', [7] = false} return show(cmsgpack.unpack(cmsgpack.pack(t)))`},
	{"round-trip-numbers", `return all(cmsgpack.unpack(cmsgpack.pack(0.1, 1/3, -2^63, 2^63, 2^64, 1e300, -(1/(1/0)), 4294967295, -4294967296, 1/0)))`},
}
