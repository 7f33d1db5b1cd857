package config

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// A kind is a directive's value type, one of redis-server's: yes/no,
// string, enumeration, number (plain, memory size, percentage, octal) or
// one of the special forms (save, client-output-buffer-limit, ...). It
// turns arguments into the value CONFIG GET shows, with Redis's checks and
// error texts, and renders a value as CONFIG REWRITE writes it.
type kind interface {
	// parse returns the CONFIG GET form of args, or an error whose text
	// is Redis's reason. cur is the directive's current value, which
	// client-output-buffer-limit amends.
	parse(cur string, args []string) (string, error)
	// lines returns the redis.conf lines that hold value v of directive
	// name, whose default is def.
	lines(name, v, def string) []line
}

// line is one line of CONFIG REWRITE. A forced line is written even when
// the file has no line of its directive to replace: its value is not the
// default.
type line struct {
	text  string
	force bool
}

func one(name, v string, force bool) []line { return []line{{name + " " + v, force}} }

// yesNo is a boolean: yes or no in any case. A non-empty noYes refuses
// yes with that reason.
type yesNo struct{ noYes string }

func (k yesNo) parse(_ string, a []string) (string, error) {
	switch strings.ToLower(a[0]) {
	case "yes":
		if k.noYes != "" {
			return "", errors.New(k.noYes)
		}
		return "yes", nil
	case "no":
		return "no", nil
	}
	return "", errors.New("argument must be 'yes' or 'no'")
}

func (yesNo) lines(name, v, def string) []line { return one(name, v, v != def) }

// text is a string. With null set the empty string means "unset", which
// CONFIG REWRITE leaves out of the file (EMPTY_STRING_IS_NULL); such a
// string has no default to compare with, so any other value is written.
type text struct {
	null bool
	// always writes the value even when it is the default (dir).
	always bool
	check  func(string) error
}

func (k text) parse(_ string, a []string) (string, error) {
	if k.check != nil {
		if err := k.check(a[0]); err != nil {
			return "", err
		}
	}
	return a[0], nil
}

func (k text) lines(name, v, def string) []line {
	if k.null && v == "" {
		return nil
	}
	return one(name, quote(v), k.always || k.null || v != def)
}

// enum is one of a list of names, in any case. Names may share a value
// (oom-score-adj's yes and relative); CONFIG GET shows the first. With
// flags set, several names may be given and their values combine, as
// shutdown-on-sigint takes "save now".
type enum struct {
	names []string
	vals  []int // nil: the i-th name has value i
	flags bool
	check func(v int) error
}

func (k enum) val(i int) int {
	if k.vals == nil {
		return i
	}
	return k.vals[i]
}

func (k enum) parse(_ string, a []string) (string, error) {
	bad := errors.New("argument(s) must be one of the following: " + strings.Join(k.names, ", "))
	if len(a) == 0 || (!k.flags && len(a) != 1) {
		return "", bad
	}
	v := 0
	for _, w := range a {
		found := false
		for i, n := range k.names {
			if strings.EqualFold(w, n) {
				v |= k.val(i)
				found = true
			}
		}
		if !found {
			return "", bad
		}
	}
	if k.check != nil {
		if err := k.check(v); err != nil {
			return "", err
		}
	}
	return k.name(v), nil
}

// name renders value v as configEnumGetName does: the first name of that
// value, or for flags the names of its bits in list order.
func (k enum) name(v int) string {
	var names []string
	left := v
	for i, n := range k.names {
		x := k.val(i)
		if x == v {
			return n
		}
		if k.flags && x != 0 && x == left&x {
			names = append(names, n)
			left &^= x
		}
	}
	if len(names) == 0 || left != 0 {
		return "unknown"
	}
	return strings.Join(names, " ")
}

func (enum) lines(name, v, def string) []line { return one(name, v, v != def) }

// number is an integer within [min, max]. Redis checks the bounds of its
// unsigned types (size_t, unsigned int, unsigned long long) as unsigned,
// so that -1 is out of range rather than below it; a max of -1 with
// unsigned set is 2^64-1. A memory number also reads sizes (5mb), a
// percent number also reads "n%", kept as -n; an octal one reads base 8.
type number struct {
	min, max                         int64
	unsigned, memory, percent, octal bool
}

func (k number) parse(_ string, a []string) (string, error) {
	v, err := k.read(a[0])
	if err != nil {
		return "", err
	}
	return k.format(v), k.bound(v)
}

func (k number) read(s string) (int64, error) {
	if k.memory {
		if v, ok := memtoull(s); ok {
			return int64(v), nil
		}
	}
	if k.percent && len(s) > 1 && s[len(s)-1] == '%' {
		if v, ok := string2ll(s[:len(s)-1]); ok && v >= 0 {
			return -v, nil
		}
	}
	if k.octal {
		if v, err := strconv.ParseInt(strings.TrimLeft(s, " \t\n\r\v\f"), 8, 64); err == nil {
			return v, nil
		}
	}
	if !k.memory && !k.percent && !k.octal {
		if v, ok := string2ll(s); ok {
			return v, nil
		}
	}
	switch {
	case k.memory && k.percent:
		return 0, errors.New("argument must be a memory or percent value")
	case k.memory:
		return 0, errors.New("argument must be a memory value")
	case k.octal:
		return 0, errors.New("argument couldn't be parsed as an octal number")
	}
	return 0, errors.New("argument couldn't be parsed into an integer")
}

func (k number) bound(v int64) error {
	switch {
	case k.unsigned:
		if uint64(v) < uint64(k.min) || uint64(v) > uint64(k.max) {
			if k.octal {
				return fmt.Errorf("argument must be between %o and %o inclusive", uint64(k.min), uint64(k.max))
			}
			return fmt.Errorf("argument must be between %d and %d inclusive", uint64(k.min), uint64(k.max))
		}
	case k.percent && v < 0:
		if v < k.min {
			return fmt.Errorf("percentage argument must be less or equal to %d", -k.min)
		}
	case v < k.min || v > k.max:
		return fmt.Errorf("argument must be between %d and %d inclusive", k.min, k.max)
	}
	return nil
}

func (k number) format(v int64) string {
	switch {
	case k.percent && v < 0:
		return strconv.FormatInt(-v, 10) + "%"
	case k.memory:
		return strconv.FormatUint(uint64(v), 10)
	case k.octal:
		return strconv.FormatInt(v, 8)
	}
	return strconv.FormatInt(v, 10)
}

func (k number) lines(name, v, def string) []line {
	n, _ := k.read(v)
	force := k.format(n) != def
	switch {
	case k.percent && n < 0:
		v = strconv.FormatInt(-n, 10) + "%"
	case k.memory:
		v = formatMemory(n)
	}
	return one(name, v, force)
}

// words keeps several words as one value joined by spaces (cluster-join).
type words struct{}

func (words) parse(_ string, a []string) (string, error) { return strings.Join(a, " "), nil }

func (words) lines(name, v, def string) []line {
	if v == "" {
		return nil
	}
	return one(name, v, v != def)
}
