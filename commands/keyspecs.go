package commands

import (
	"slices"
	"strconv"
	"strings"
)

// KeyRef is a key found among a command's arguments: its index and the
// access flags of the key spec that found it.
type KeyRef struct {
	Pos   int
	Flags []string
}

func (c *Command) keySpecs() []KeySpec {
	if c.Meta == nil {
		return nil
	}
	return c.Meta.KeySpecs
}

// HasKeySpecs reports whether the command takes keys, as Redis's
// doesCommandHaveKeys does: a key spec that is not marked not_key, or a
// function finding its keys.
func (c *Command) HasKeySpecs() bool {
	if c.Keys != nil {
		return true
	}
	for _, ks := range c.keySpecs() {
		if !slices.Contains(ks.Flags, "not_key") {
			return true
		}
	}
	return false
}

// MovableKeys reports whether the command's keys move with its arguments:
// a key spec that is not an index with a range, or, for a command without
// key specs, a function finding its keys. COMMAND INFO calls it
// movablekeys.
func (c *Command) MovableKeys() bool {
	specs := c.keySpecs()
	if len(specs) == 0 {
		return c.Keys != nil
	}
	for _, ks := range specs {
		if ks.BeginSearch.Type != "index" || ks.FindKeys.Type != "range" {
			return true
		}
	}
	return false
}

// GetKeys finds the keys of args (the command's name first) as Redis's
// getKeysFromCommandWithSpecs does: by the key specs when they are all
// known and their flags fixed, else by the table's key positions, each
// with the flags of the spec it falls under.
func (c *Command) GetKeys(args [][]byte) []KeyRef {
	specs := c.keySpecs()
	hasKey, varFlags := false, false
	for _, ks := range specs {
		hasKey = hasKey || !slices.Contains(ks.Flags, "not_key")
		varFlags = varFlags || slices.Contains(ks.Flags, "variable_flags")
	}
	if hasKey && !varFlags {
		if keys, ok := keysBySpecs(specs, args); ok {
			return keys
		}
	}
	var out []KeyRef
	for _, p := range c.KeyPositions(args) {
		out = append(out, KeyRef{Pos: p, Flags: fallbackKeyFlags(c, specs, args, p)})
	}
	return out
}

// keysBySpecs is Redis's getKeysUsingKeySpecs: false when a spec is
// unknown, incomplete or does not fit the arguments.
func keysBySpecs(specs []KeySpec, args [][]byte) ([]KeyRef, bool) {
	argc := len(args)
	var out []KeyRef
	for _, ks := range specs {
		if slices.Contains(ks.Flags, "not_key") {
			continue
		}
		first := 0
		switch ks.BeginSearch.Type {
		case "index":
			first = ks.BeginSearch.Index
		case "keyword":
			start, end := ks.BeginSearch.StartFrom, argc-1
			if start <= 0 {
				start, end = argc+start, 1
			}
			for i := start; i != end; {
				if i >= argc || i < 1 {
					break
				}
				if strings.EqualFold(string(args[i]), ks.BeginSearch.Keyword) {
					first = i + 1
					break
				}
				if start <= end {
					i++
				} else {
					i--
				}
			}
			if first == 0 {
				continue // keyword not found
			}
		default:
			return nil, false
		}
		var last, step int
		switch ks.FindKeys.Type {
		case "range":
			step = ks.FindKeys.KeyStep
			switch {
			case ks.FindKeys.LastKey >= 0:
				last = first + ks.FindKeys.LastKey
			case ks.FindKeys.Limit == 0:
				last = argc + ks.FindKeys.LastKey
			default:
				last = first + ((argc-first)/ks.FindKeys.Limit + ks.FindKeys.LastKey)
			}
		case "keynum":
			step = ks.FindKeys.KeyStep
			if ks.FindKeys.KeyNumIdx >= argc-first {
				return nil, false
			}
			n, err := strconv.ParseInt(string(args[first+ks.FindKeys.KeyNumIdx]), 10, 64)
			if err != nil || n < 0 || n > int64(argc) {
				return nil, false
			}
			first += ks.FindKeys.FirstKey
			last = first + int(n) - 1
		default:
			return nil, false
		}
		if last >= argc || last < first || first >= argc {
			return nil, false
		}
		for i := first; i <= last; i += step {
			out = append(out, KeyRef{Pos: i, Flags: ks.Flags})
		}
		if slices.Contains(ks.Flags, "incomplete") {
			return nil, false
		}
	}
	return out, true
}

// fallbackKeyFlags gives a key found by the table's key positions the
// flags Redis's getkeys functions give it: those of SET and BITFIELD
// depend on the arguments; otherwise those of the spec starting at the
// key, or of the spec that writes among the others (SORT's STORE,
// MIGRATE's KEYS), without incomplete and variable_flags.
func fallbackKeyFlags(c *Command, specs []KeySpec, args [][]byte, pos int) []string {
	switch c.Name {
	case "set":
		for _, a := range args[min(3, len(args)):] {
			if strings.EqualFold(string(a), "get") {
				return []string{"RW", "access", "update"}
			}
		}
		return []string{"OW", "update"}
	case "bitfield":
		if bitfieldReadOnly(args) {
			return []string{"RO", "access"}
		}
		return []string{"RW", "access", "update"}
	}
	var pick *KeySpec
	for i := range specs {
		ks := &specs[i]
		if ks.BeginSearch.Type == "index" && ks.BeginSearch.Index == pos {
			pick = ks
			break
		}
	}
	for i := range specs {
		ks := &specs[i]
		if pick == nil && ks.BeginSearch.Type != "index" && slices.ContainsFunc(ks.Flags, isWriteKeyFlag) {
			pick = ks
		}
	}
	if pick == nil && len(specs) > 0 {
		pick = &specs[0]
	}
	if pick == nil {
		return nil
	}
	var out []string
	for _, f := range pick.Flags {
		if f != "incomplete" && f != "variable_flags" {
			out = append(out, f)
		}
	}
	return out
}

func isWriteKeyFlag(f string) bool { return f == "RW" || f == "OW" || f == "RM" }

// bitfieldReadOnly reports whether a BITFIELD call only reads, as Redis's
// bitfieldGetKeys decides: GETs and OVERFLOWs with their arguments.
func bitfieldReadOnly(args [][]byte) bool {
	for i := 2; i < len(args); i++ {
		rem := len(args) - i - 1
		switch a := string(args[i]); {
		case strings.EqualFold(a, "get") && rem >= 2:
			i += 2
		case strings.EqualFold(a, "overflow") && rem >= 1:
			i++
		default:
			return false
		}
	}
	return true
}
