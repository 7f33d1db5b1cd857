package lualib

import (
	"strings"

	lua "github.com/yuin/gopher-lua"
)

type jsonTokenType int

// The token types in lua-cjson's order; their names appear in errors.
const (
	tObjBegin jsonTokenType = iota
	tObjEnd
	tArrBegin
	tArrEnd
	tString
	tNumber
	tBoolean
	tNull
	tColon
	tComma
	tEnd
	tWhitespace
	tError
	tUnknown
)

var jsonTokenNames = [...]string{
	"T_OBJ_BEGIN", "T_OBJ_END", "T_ARR_BEGIN", "T_ARR_END", "T_STRING",
	"T_NUMBER", "T_BOOLEAN", "T_NULL", "T_COLON", "T_COMMA", "T_END",
	"T_WHITESPACE", "T_ERROR", "T_UNKNOWN",
}

// jsonCharTokens is lua-cjson's ch2token: what the first byte of a token
// makes of it. NUL ends the input, as it does for the C string.
var jsonCharTokens = func() [256]jsonTokenType {
	var t [256]jsonTokenType
	for i := range t {
		t[i] = tError
	}
	t['{'], t['}'], t['['], t[']'] = tObjBegin, tObjEnd, tArrBegin, tArrEnd
	t[','], t[':'], t[0] = tComma, tColon, tEnd
	t[' '], t['\t'], t['\n'], t['\r'] = tWhitespace, tWhitespace, tWhitespace, tWhitespace
	for _, c := range "fiInNt\"+-0123456789" {
		t[c] = tUnknown
	}
	return t
}()

// jsonUnescapes is lua-cjson's escape2char; 'u' starts a \uXXXX escape.
var jsonUnescapes = [256]byte{
	'"': '"', '\\': '\\', '/': '/', 'b': '\b', 't': '\t',
	'n': '\n', 'f': '\f', 'r': '\r', 'u': 'u',
}

type jsonToken struct {
	typ   jsonTokenType
	index int // 0-based offset of the token; errors print it 1-based
	str   string
	num   float64
	b     bool
	err   string // what a tError found
}

// jsonDecoder reads one cjson.decode argument.
type jsonDecoder struct {
	L     *lua.LState
	cfg   *cjsonConfig
	null  *lua.LUserData
	data  string
	pos   int
	depth int
	// used counts the C Lua stack slots lua-cjson would hold (the argument,
	// the open tables, pending keys and values); its lua_checkstack fails
	// past maxCStack.
	used int
}

// decodeJSON is json_decode.
func decodeJSON(L *lua.LState, cfg *cjsonConfig, null *lua.LUserData, data string) lua.LValue {
	if len(data) >= 2 && (data[0] == 0 || data[1] == 0) {
		raise(L, "JSON parser does not support UTF-16 or UTF-32")
	}
	d := &jsonDecoder{L: L, cfg: cfg, null: null, data: data, used: 1}
	tok := d.next()
	v := d.value(&tok)
	if tok = d.next(); tok.typ != tEnd {
		d.fail("the end", &tok)
	}
	return v
}

// at is the byte at i, or NUL past the end, as the C parser reads it.
func (d *jsonDecoder) at(i int) byte {
	if i < len(d.data) {
		return d.data[i]
	}
	return 0
}

func (d *jsonDecoder) fail(expected string, tok *jsonToken) {
	found := jsonTokenNames[tok.typ]
	if tok.typ == tError {
		found = tok.err
	}
	raise(d.L, "Expected %s but found %s at character %d", expected, found, tok.index+1)
}

func (d *jsonDecoder) tokenError(tok *jsonToken, msg string) {
	tok.typ = tError
	tok.index = d.pos
	tok.err = msg
}

// next is json_next_token.
func (d *jsonDecoder) next() jsonToken {
	var tok jsonToken
	for jsonCharTokens[d.at(d.pos)] == tWhitespace {
		d.pos++
	}
	c := d.at(d.pos)
	tok.typ = jsonCharTokens[c]
	tok.index = d.pos
	switch tok.typ {
	case tError:
		d.tokenError(&tok, "invalid token")
		return tok
	case tEnd:
		return tok
	case tUnknown:
	default:
		d.pos++
		return tok
	}
	rest := d.data[d.pos:]
	switch {
	case c == '"':
		d.string(&tok)
	case c == '-' || isDigit(c):
		if d.cfg.decodeInvalid == 0 && d.invalidNumber() {
			d.tokenError(&tok, "invalid number")
			return tok
		}
		d.number(&tok)
	case strings.HasPrefix(rest, "true"):
		tok.typ, tok.b = tBoolean, true
		d.pos += 4
	case strings.HasPrefix(rest, "false"):
		tok.typ, tok.b = tBoolean, false
		d.pos += 5
	case strings.HasPrefix(rest, "null"):
		tok.typ = tNull
		d.pos += 4
	case d.cfg.decodeInvalid != 0 && d.invalidNumber():
		d.number(&tok)
	default:
		d.tokenError(&tok, "invalid token")
	}
	return tok
}

// invalidNumber is json_is_invalid_number: what strtod reads but JSON
// forbids (a leading '+', hexadecimal, leading zeros, inf, nan).
func (d *jsonDecoder) invalidNumber() bool {
	p := d.pos
	switch d.at(p) {
	case '+':
		return true
	case '-':
		p++
	}
	if c := d.at(p); c == '0' {
		c2 := d.at(p + 1)
		return c2|0x20 == 'x' || isDigit(c2)
	} else if int8(c) <= '9' { // a signed char: bytes from 0x80 pass here
		return false
	}
	rest := strings.ToLower(d.data[min(p, len(d.data)):min(p+3, len(d.data))])
	return strings.HasPrefix(rest, "inf") || strings.HasPrefix(rest, "nan")
}

// number is json_next_number_token: strtod from the current byte.
func (d *jsonDecoder) number(tok *jsonToken) {
	f, n := strtod(d.data[d.pos:]) // stops at NUL, as at any other non-digit
	if n == 0 {
		d.tokenError(tok, "invalid number")
		return
	}
	tok.typ, tok.num = tNumber, f
	d.pos += n
}

// string is json_next_string_token.
func (d *jsonDecoder) string(tok *jsonToken) {
	d.pos++ // the opening quote
	var b []byte
	for {
		c := d.at(d.pos)
		if c == '"' {
			break
		}
		if c == 0 {
			d.tokenError(tok, "unexpected end of string")
			return
		}
		if c == '\\' {
			esc := jsonUnescapes[d.at(d.pos+1)]
			if esc == 'u' {
				var ok bool
				if b, ok = d.unicodeEscape(b); !ok {
					d.tokenError(tok, "invalid unicode escape code")
					return
				}
				continue
			}
			if esc == 0 {
				d.tokenError(tok, "invalid escape code")
				return
			}
			c = esc
			d.pos++
		}
		b = append(b, c)
		d.pos++
	}
	d.pos++ // the closing quote
	tok.typ, tok.str = tString, string(b)
}

func hexDigit(c byte) int {
	switch {
	case isDigit(c):
		return int(c - '0')
	case c|0x20 >= 'a' && c|0x20 <= 'f':
		return int(c|0x20-'a') + 10
	}
	return -1
}

// hex4 is decode_hex4: the four hexadecimal digits at i, or -1.
func (d *jsonDecoder) hex4(i int) int {
	v := 0
	for j := 0; j < 4; j++ {
		h := hexDigit(d.at(i + j))
		if h < 0 {
			return -1
		}
		v = v<<4 | h
	}
	return v
}

// unicodeEscape is json_append_unicode_escape: \uXXXX, or a surrogate pair
// of two, appended to b as UTF-8.
func (d *jsonDecoder) unicodeEscape(b []byte) ([]byte, bool) {
	cp := d.hex4(d.pos + 2)
	if cp < 0 {
		return b, false
	}
	n := 6
	if cp&0xF800 == 0xD800 {
		if cp&0x400 != 0 || d.at(d.pos+6) != '\\' || d.at(d.pos+7) != 'u' {
			return b, false
		}
		lo := d.hex4(d.pos + 8)
		if lo < 0 || lo&0xFC00 != 0xDC00 {
			return b, false
		}
		cp = ((cp&0x3FF)<<10 | lo&0x3FF) + 0x10000
		n = 12
	}
	switch {
	case cp <= 0x7F:
		b = append(b, byte(cp))
	case cp <= 0x7FF:
		b = append(b, byte(cp>>6|0xC0), byte(cp&0x3F|0x80))
	case cp <= 0xFFFF:
		b = append(b, byte(cp>>12|0xE0), byte(cp>>6&0x3F|0x80), byte(cp&0x3F|0x80))
	default:
		b = append(b, byte(cp>>18|0xF0), byte(cp>>12&0x3F|0x80), byte(cp>>6&0x3F|0x80), byte(cp&0x3F|0x80))
	}
	d.pos += n
	return b, true
}

// descend is json_decode_descend: one more level of nesting that needs
// slots more stack slots.
func (d *jsonDecoder) descend(slots int) {
	d.depth++
	if d.depth > d.cfg.decodeMaxDepth || d.used+slots > maxCStack {
		raise(d.L, "Found too many nested data structures (%d) at character %d", d.depth, d.pos)
	}
}

// value is json_process_value. It leaves one value on the C stack, which
// used counts until the caller stores it.
func (d *jsonDecoder) value(tok *jsonToken) lua.LValue {
	switch tok.typ {
	case tString:
		d.used++
		return lua.LString(tok.str)
	case tNumber:
		d.used++
		return lua.LNumber(tok.num)
	case tBoolean:
		d.used++
		return lua.LBool(tok.b)
	case tNull:
		d.used++
		return d.null
	case tObjBegin:
		return d.object()
	case tArrBegin:
		return d.array()
	}
	d.fail("value", tok)
	return nil
}

// open starts an array or an object that needs slots stack slots: its
// table, and its first token unless it closes at once (empty).
func (d *jsonDecoder) open(slots int, end jsonTokenType) (t *lua.LTable, tok jsonToken, empty bool) {
	d.descend(slots)
	t = d.L.NewTable()
	d.used++
	if tok = d.next(); tok.typ == end {
		d.depth--
		return t, tok, true
	}
	return t, tok, false
}

// object is json_parse_object_context.
func (d *jsonDecoder) object() lua.LValue {
	t, tok, empty := d.open(3, tObjEnd)
	if empty {
		return t
	}
	for {
		if tok.typ != tString {
			d.fail("object key string", &tok)
		}
		key := lua.LString(tok.str)
		d.used++
		if tok = d.next(); tok.typ != tColon {
			d.fail("colon", &tok)
		}
		tok = d.next()
		t.RawSet(key, d.value(&tok))
		d.used -= 2
		var more bool
		if tok, more = d.afterValue(tObjEnd, "comma or object end"); !more {
			return t
		}
	}
}

// afterValue reads what follows a value in an array or an object: the end
// token, which closes the level (more is false), or a comma and the token
// after it.
func (d *jsonDecoder) afterValue(end jsonTokenType, expected string) (tok jsonToken, more bool) {
	tok = d.next()
	if tok.typ == end {
		d.depth--
		return tok, false
	}
	if tok.typ != tComma {
		d.fail(expected, &tok)
	}
	return d.next(), true
}

// array is json_parse_array_context.
func (d *jsonDecoder) array() lua.LValue {
	t, tok, empty := d.open(2, tArrEnd)
	if empty {
		return t
	}
	for i := 1; ; i++ {
		t.RawSetInt(i, d.value(&tok))
		d.used--
		var more bool
		if tok, more = d.afterValue(tArrEnd, "comma or array end"); !more {
			return t
		}
	}
}
