package commands

// Glob matching as Redis's stringmatchlen does it, for KEYS, SCAN MATCH and
// the other commands that take a pattern:
//
//	*        any run of bytes, including none
//	?        exactly one byte
//	[abc]    one of the listed bytes; [^abc] any byte but those
//	[a-z]    a byte within the range (ends in either order)
//	\x       the byte x itself, outside and inside brackets
//
// An unterminated bracket matches as if the pattern ended there. The
// behaviour follows the C code to the byte, including its quirks: bytes
// compare as signed chars in ranges, and reading past the end of the
// pattern sees the NUL that terminates every Redis string.

// GlobMatch reports whether s matches pattern.
func GlobMatch(pattern, s []byte) bool {
	skip := false
	return globMatch(pattern, s, false, &skip, 0)
}

// GlobMatchFold is GlobMatch ignoring ASCII case.
func GlobMatchFold(pattern, s []byte) bool {
	skip := false
	return globMatch(pattern, s, true, &skip, 0)
}

// at returns p[i], or 0 past the end: the C string's terminator.
func at(p []byte, i int) byte {
	if i >= 0 && i < len(p) {
		return p[i]
	}
	return 0
}

func lower(b byte) byte {
	if 'A' <= b && b <= 'Z' {
		return b + 'a' - 'A'
	}
	return b
}

// globMatch is stringmatchlen_impl. skipLonger is shared across the
// recursion: once the rest of a pattern after a '*' has failed to match at
// every later offset, no earlier '*' can do better, which keeps patterns
// like "a*a*a*a*b" linear instead of exponential. Like Redis it gives up
// beyond 1000 nested stars, which bounds the recursion.
func globMatch(p, s []byte, nocase bool, skipLonger *bool, nesting int) bool {
	if nesting > 1000 {
		return false
	}
	for len(p) > 0 && len(s) > 0 {
		switch p[0] {
		case '*':
			for len(p) > 0 && at(p, 1) == '*' {
				p = p[1:]
			}
			if len(p) == 1 {
				return true
			}
			for len(s) > 0 {
				if globMatch(p[1:], s, nocase, skipLonger, nesting+1) {
					return true
				}
				if *skipLonger {
					return false
				}
				s = s[1:]
			}
			*skipLonger = true
			return false
		case '?':
			s = s[1:]
		case '[':
			p = p[1:]
			not := at(p, 0) == '^'
			if not {
				p = p[1:]
			}
			match := false
			for {
				if at(p, 0) == '\\' && len(p) >= 2 {
					p = p[1:]
					if p[0] == s[0] {
						match = true
					}
				} else if at(p, 0) == ']' {
					break
				} else if len(p) == 0 {
					// Unterminated: the pattern ends with the class.
					break
				} else if len(p) >= 3 && p[1] == '-' {
					start, end, c := int(int8(p[0])), int(int8(p[2])), int(int8(s[0]))
					if start > end {
						start, end = end, start
					}
					if nocase {
						start, end, c = int(int8(lower(byte(start)))), int(int8(lower(byte(end)))), int(int8(lower(byte(c))))
					}
					p = p[2:]
					if c >= start && c <= end {
						match = true
					}
				} else if nocase {
					if lower(p[0]) == lower(s[0]) {
						match = true
					}
				} else if p[0] == s[0] {
					match = true
				}
				p = p[1:]
			}
			if not {
				match = !match
			}
			if !match {
				return false
			}
			s = s[1:]
			if len(p) == 0 {
				// The C code steps back onto the last byte and then past
				// it: the pattern is used up.
				if len(s) == 0 {
					return true
				}
				return false
			}
		case '\\':
			if len(p) >= 2 {
				p = p[1:]
			}
			fallthrough
		default:
			if nocase {
				if lower(p[0]) != lower(s[0]) {
					return false
				}
			} else if p[0] != s[0] {
				return false
			}
			s = s[1:]
		}
		p = p[1:]
		if len(s) == 0 {
			for len(p) > 0 && p[0] == '*' {
				p = p[1:]
			}
			break
		}
	}
	return len(p) == 0 && len(s) == 0
}
