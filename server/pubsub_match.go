package server

// globMatch reports whether str matches the glob pattern as Redis's
// stringmatchlen does (util.c, Redis 7.0): '*', '?', '[...]' with '^'
// negation and 'a-z' ranges, and '\' escapes. Like Redis it gives up on
// patterns nested deeper than 1000 stars, and stops retrying longer
// matches for an earlier star once a later one failed everywhere.
//
// NB: commands/glob.go holds the same algorithm for KEYS and SCAN; the
// two are meant to become one.
func globMatch(pattern, str []byte, nocase bool) bool {
	skip := false
	return globMatchImpl(pattern, str, nocase, &skip, 0)
}

func globMatchImpl(p, s []byte, nocase bool, skipLonger *bool, nesting int) bool {
	if nesting > 1000 {
		return false
	}
	// at mimics reading a NUL-terminated C string: past the end is 0.
	at := func(b []byte, i int) byte {
		if i < len(b) {
			return b[i]
		}
		return 0
	}
	for len(p) > 0 && len(s) > 0 {
		switch p[0] {
		case '*':
			for len(p) > 1 && p[1] == '*' {
				p = p[1:]
			}
			if len(p) == 1 {
				return true
			}
			for len(s) > 0 {
				if globMatchImpl(p[1:], s, nocase, skipLonger, nesting+1) {
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
					// Unterminated class: the loop's step below ends it.
					p = p[:0]
					break
				} else if len(p) >= 3 && p[1] == '-' {
					// C compares plain (signed) chars.
					start, end, c := int(int8(p[0])), int(int8(p[2])), int(int8(s[0]))
					if start > end {
						start, end = end, start
					}
					if nocase {
						start, end, c = lowerInt(start), lowerInt(end), lowerInt(c)
					}
					p = p[2:]
					if c >= start && c <= end {
						match = true
					}
				} else if !nocase {
					if p[0] == s[0] {
						match = true
					}
				} else if lower(p[0]) == lower(s[0]) {
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
				// The unterminated class consumed the pattern.
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
			if !nocase {
				if p[0] != s[0] {
					return false
				}
			} else if lower(p[0]) != lower(s[0]) {
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

func lower(b byte) byte {
	if 'A' <= b && b <= 'Z' {
		return b + 'a' - 'A'
	}
	return b
}

func lowerInt(c int) int {
	if 'A' <= c && c <= 'Z' {
		return c + 'a' - 'A'
	}
	return c
}
