package lualib_test

// structCases cover lua_struct.c as Redis 7.0 loads it.
var structCases = []luaCase{
	// Packing each format in both byte orders.
	{"pack-integers", `local r = {} for _, f in ipairs({'b', 'B', 'h', 'H', 'l', 'L', 'T', 'i', 'I', 'i1', 'i2', 'i3', 'i5', 'i8', 'I16'}) do r[#r + 1] = f .. '=' .. hex(struct.pack('<' .. f, 100)) .. '/' .. hex(struct.pack('>' .. f, 100)) end return table.concat(r, ' ')`},
	{"pack-negative", `local r = {} for _, f in ipairs({'b', 'B', 'h', 'H', 'i', 'I', 'l', 'L', 'i3', 'i12'}) do r[#r + 1] = f .. '=' .. hex(struct.pack('>' .. f, -2)) end return table.concat(r, ' ')`},
	{"pack-out-of-range", `return hex(struct.pack('>b', 200)) .. ' ' .. hex(struct.pack('>B', -1)) .. ' ' .. hex(struct.pack('>H', 65537)) .. ' ' .. hex(struct.pack('>i2', 1.9)) .. ' ' .. hex(struct.pack('>i2', -1.9)) .. ' ' .. hex(struct.pack('>l', 2^53 + 1))`},
	{"pack-huge-and-nan", `return hex(struct.pack('>L', 2^64)) .. ' ' .. hex(struct.pack('>L', 0/0)) .. ' ' .. hex(struct.pack('>l', -2^70)) .. ' ' .. hex(struct.pack('>L', 2^63)) .. ' ' .. hex(struct.pack('>L', 2^63 + 2^11)) .. ' ' .. hex(struct.pack('>l', 1/0)) .. ' ' .. hex(struct.pack('>l', -1/0))`},
	{"pack-floats", `return hex(struct.pack('<f', 0.1)) .. ' ' .. hex(struct.pack('>f', 0.1)) .. ' ' .. hex(struct.pack('<d', 0.1)) .. ' ' .. hex(struct.pack('>d', -(1/(1/0)))) .. ' ' .. hex(struct.pack('>f', 1e300)) .. ' ' .. hex(struct.pack('>d', 1/0)) .. ' ' .. hex(struct.pack('>f', 3.4028235677973366e38))`},
	{"pack-strings", `return hex(struct.pack('c3', 'abcdef')) .. ' ' .. hex(struct.pack('c0', 'abc')) .. ' ' .. hex(struct.pack('s', 'hi')) .. ' ' .. hex(struct.pack('s', 'a\0b')) .. ' ' .. hex(struct.pack('c', 'xyz')) .. ' ' .. hex(struct.pack('c0', 12.5)) .. ' ' .. hex(struct.pack('x'))`},
	{"pack-spaces-and-order", `return hex(struct.pack('> h < h  >i2', 1, 1, 1))`},
	{"pack-number-strings", `return hex(struct.pack('>i', '10')) .. ' ' .. hex(struct.pack('>i', '0x10')) .. ' ' .. hex(struct.pack('>d', ' 1.5 '))`},

	// Alignment.
	{"pack-alignment", `return hex(struct.pack('!4 b i', 1, 2)) .. ' ' .. hex(struct.pack('! b d', 1, 2)) .. ' ' .. hex(struct.pack('!2 b h b i', 1, 2, 3, 4)) .. ' ' .. hex(struct.pack('!8 b i3', 1, 2)) .. ' ' .. hex(struct.pack('!4 b c3', 1, 'abc')) .. ' ' .. hex(struct.pack('!4 b s b', 1, 'a', 2)) .. ' ' .. hex(struct.pack('!4 b x h', 1, 2)) .. ' ' .. hex(struct.pack('!1 b d', 1, 2))`},
	{"pack-alignment-errors", `return err(struct.pack, '!3 b', 1) .. '|' .. err(struct.pack, '!0 b', 1) .. '|' .. err(struct.pack, '!16 b d', 1, 2) .. '|' .. hex(struct.pack('!16 b d', 1, 2))`},

	// Pack errors.
	{"pack-errors", `local r = '' for _, c in ipairs({{'y'}, {'i33', 1}, {'i', 'x'}, {'i'}, {'c5', 'abc'}, {'b c5', 1, 'abc'}, {'s'}, {'d', {}}, {'b b', 1}, {'5'}, {'c99999999999'}, {'i99999999999', 1}, {'I0', 5}}) do r = r .. '|' .. err(struct.pack, unpack(c)) end return r`},
	{"pack-format-arguments", `return err(struct.pack) .. '|' .. err(struct.pack, {}) .. '|' .. err(struct.pack, 5) .. '|' .. err(function() return struct.pack('y') end) .. '|' .. err(function() struct.pack('!3') end)`},

	// Unpacking.
	{"unpack-integers", `local s = struct.pack('<b B h H i I l L', -1, 255, -300, 65000, -70000, 4000000000, -2^40, 2^52) return all(struct.unpack('<b B h H i I l L', s))`},
	{"unpack-big-endian", `return all(struct.unpack('>h H i3 I3 i5', '\255\254\255\254\255\255\254\255\255\254\128\0\0\0\1'))`},
	{"unpack-wide-integers", `return all(struct.unpack('<i9', string.rep('\255', 9))) .. ' ' .. all(struct.unpack('<I9', string.rep('\255', 9))) .. ' ' .. all(struct.unpack('>i16', string.rep('\0', 8) .. string.rep('\255', 8))) .. ' ' .. all(struct.unpack('<i16', '\1' .. string.rep('\0', 15))) .. ' ' .. all(struct.unpack('>I12', string.rep('\1', 12)))`},
	{"unpack-unsigned-above-2^53", `return all(struct.unpack('>L', '\255\255\255\255\255\255\255\255')) .. ' ' .. all(struct.unpack('>l', '\127\255\255\255\255\255\255\255'))`},
	{"unpack-floats", `return all(struct.unpack('<f', struct.pack('<f', 0.1))) .. ' ' .. all(struct.unpack('>d', struct.pack('>d', -1/3))) .. ' ' .. all(struct.unpack('>f', '\127\128\0\0')) .. ' ' .. num(struct.unpack('>d', '\127\248\0\0\0\0\0\0'))`},
	{"unpack-strings", `return all(struct.unpack('c3 s b c0', 'abcdef\0\2ghi')) .. ' ' .. all(struct.unpack('b c0 b', '\3abc\7')) .. ' ' .. all(struct.unpack('c1 c0', '2ab')) .. ' ' .. all(struct.unpack('b c0', '\0'))`},
	{"unpack-position", `return all(struct.unpack('b', 'abc', 2)) .. ' ' .. all(struct.unpack('b', 'abc', 3)) .. ' ' .. all(struct.unpack('', 'abc', 4)) .. ' ' .. all(struct.unpack('x b', 'abc')) .. ' ' .. all(struct.unpack('!4 b i', '\1\0\0\0\2\0\0\0')) .. ' ' .. all(struct.unpack('!4 i', 'xxxx\1\0\0\0', 2))`},
	{"unpack-errors", `local r = '' for _, c in ipairs({{'i', 'ab'}, {'b', 'abc', 0}, {'b', 'abc', 4}, {'b', 'abc', -1}, {'s', 'abc'}, {'c0', 'abc'}, {'c0', '0'}, {'b c0', '\3ab'}, {'c1 c0', 'xab'}, {'c1 c0', ' 1 ab'}, {'y', 'a'}, {'b'}, {'b', {}}, {'!3 b', 'a'}, {'d', 'abc'}, {'b', 'a', 'x'}}) do r = r .. '|' .. err(struct.unpack, unpack(c)) end return r`},
	{"unpack-many-results", `local ok = select('#', struct.unpack(string.rep('b', 7997), string.rep('\1', 7997))) return ok .. '|' .. err(struct.unpack, string.rep('b', 7998), string.rep('\1', 7998)) .. '|' .. err(struct.unpack, string.rep('b', 7997), string.rep('\1', 7997), 1) .. '|' .. select('#', struct.unpack(string.rep('b', 7996), string.rep('\1', 7996), 1))`},
	{"round-trip", `local f = '!4 >b B h H i I l d f c2 s' local s = struct.pack(f, -5, 250, -1000, 60000, -2^31, 2^32 - 1, -2^53, 0.1, 0.5, 'xy', 'str') return hex(s) .. ' ' .. all(struct.unpack(f, s))`},

	// Sizes.
	{"size", `return struct.size('') .. ' ' .. struct.size('b h i l d f T') .. ' ' .. struct.size('!4 b i d') .. ' ' .. struct.size('! b d') .. ' ' .. struct.size('i16') .. ' ' .. struct.size('c10 x') .. ' ' .. struct.size('z q 9') .. ' ' .. struct.size('!2 b i3')`},
	{"size-errors", `return err(struct.size, 's') .. '|' .. err(struct.size, 'c0') .. '|' .. err(struct.size, 'b c0') .. '|' .. err(struct.size, '!3') .. '|' .. err(struct.size, '#') .. '|' .. err(struct.size, 'i40') .. '|' .. err(struct.size) .. '|' .. err(function() return struct.size('s') end)`},
}
