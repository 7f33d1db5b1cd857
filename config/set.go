package config

import (
	"fmt"
	"strings"
)

// SetError is a refused CONFIG SET, worded as Redis words it.
type SetError struct {
	// Arg is the parameter blamed: as the client spelled it when it names
	// no directive, cannot be changed or repeats one; the directive's own
	// name (or alias) when its value was refused.
	Arg string
	// Reason is why, empty when Arg names no directive.
	Reason string
}

func (e *SetError) Error() string {
	if e.Reason == "" {
		return fmt.Sprintf("Unknown option or number of arguments for CONFIG SET - '%s'", e.Arg)
	}
	return fmt.Sprintf("CONFIG SET failed (possibly related to argument '%s') - %s", e.Arg, e.Reason)
}

// Set applies CONFIG SET's name/value pairs to a copy of c and returns it:
// all of them or, with a *SetError, none. local reports that the client
// is connected from this host, which enable-protected-configs local
// requires to change dir or dbfilename.
//
// As in Redis 7.0, the names are checked first, in order, and the first
// unknown, immutable, protected or repeated one is refused (an alias and
// its directive are two names); then each value is read, and the first
// one refused is named by its directive. One of Shoal's own immutable
// directives is refused with its value, unless the value is the one it
// holds (Directive.Own).
func (c *Config) Set(pairs [][2]string, local bool) (*Config, error) {
	allowProtected := false
	switch c.EnableProtectedConfigs {
	case "yes":
		allowProtected = true
	case "local":
		allowProtected = local
	}
	seen := make(map[string]bool, len(pairs))
	for _, p := range pairs {
		name := strings.ToLower(p[0])
		d := Lookup(name)
		switch {
		case d == nil:
			return nil, &SetError{Arg: p[0]}
		case d.Protected && !allowProtected:
			return nil, &SetError{Arg: p[0], Reason: "can't set protected config"}
		case !d.Mutable && !d.Own:
			return nil, &SetError{Arg: p[0], Reason: "can't set immutable config"}
		case seen[name]:
			return nil, &SetError{Arg: p[0], Reason: "duplicate parameter"}
		}
		seen[name] = true
	}
	next := c.Clone()
	for _, p := range pairs {
		name := strings.ToLower(p[0])
		d := Lookup(name)
		args := []string{p[1]}
		if d.MultiArg {
			args = splitSpaces(p[1])
		}
		if err := d.Set(next, args); err != nil {
			return nil, &SetError{Arg: name, Reason: err.Error()}
		}
		if !d.Mutable && d.Get(next) != d.Get(c) {
			return nil, &SetError{Arg: p[0], Reason: "can't set immutable config"}
		}
		if errs := next.validateShoal(); len(errs) > 0 {
			return nil, &SetError{Arg: name, Reason: strings.TrimPrefix(errs[0].Error(), d.Name+": ")}
		}
	}
	return next, nil
}
