package acl

import (
	"math"
	"strings"
)

// Describe is the user's rules as ACL LIST shows them after its name, as
// Redis's ACLDescribeUser writes them: flags, password hashes, the root
// selector, then each selector in parentheses.
func (x *Index) Describe(u *User) string {
	parts := u.Flags()
	for _, h := range u.Passwords {
		parts = append(parts, "#"+h)
	}
	if d := x.describeSelector(&u.Root); d != "" {
		parts = append(parts, d)
	}
	for i := range u.Selectors {
		parts = append(parts, "("+x.describeSelector(&u.Selectors[i])+")")
	}
	return strings.Join(parts, " ")
}

// Flags are ACL GETUSER's flags: on or off, nopass, the payload
// sanitizing choice.
func (u *User) Flags() []string {
	f := []string{"off"}
	if u.Enabled {
		f[0] = "on"
	}
	if u.NoPass {
		f = append(f, "nopass")
	}
	if u.Sanitize != "" {
		f = append(f, u.Sanitize)
	}
	return f
}

func (x *Index) describeSelector(s *Selector) string {
	var parts []string
	if k := s.KeysString(); k != "" {
		parts = append(parts, k)
	}
	if s.allChannels {
		parts = append(parts, "&*")
	} else {
		parts = append(parts, "resetchannels")
		if c := s.ChannelsString(); c != "" {
			parts = append(parts, c)
		}
	}
	parts = append(parts, x.Commands(s))
	return strings.Join(parts, " ")
}

// KeysString is the selector's key patterns as ACL GETUSER shows them.
func (s *Selector) KeysString() string {
	if s.allKeys {
		return "~*"
	}
	p := make([]string, len(s.keys))
	for i, k := range s.keys {
		p[i] = k.String()
	}
	return strings.Join(p, " ")
}

// ChannelsString is the selector's channel patterns as ACL GETUSER shows
// them.
func (s *Selector) ChannelsString() string {
	if s.allChannels {
		return "&*"
	}
	p := make([]string, len(s.channels))
	for i, c := range s.channels {
		p[i] = "&" + c
	}
	return strings.Join(p, " ")
}

// Commands describes the commands s allows as Redis 7.0's
// ACLDescribeSelectorCommandRules does: +@all or -@all, then, greedily,
// the categories that agree with s more than they differ (fewest
// differences first), then the single commands left to set. Redis lists
// those last in its command dictionary's order, which changes with each
// start; here they come in the table's order.
func (x *Index) Commands(s *Selector) string {
	additive := !s.bit(x.future())
	fake := x.newSelector(false)
	rules := []string{"-@all"}
	if !additive {
		x.applySelector(&fake, "+@all")
		rules[0] = "+@all"
	}
	temp := s.clone()
	applied := make([]bool, len(Categories))
	for {
		best, minDiff, maxSame := -1, math.MaxInt, 0
		for j, cat := range Categories {
			if applied[j] {
				continue
			}
			on, off := x.count(&temp, cat)
			diff, same := off, on
			if !additive {
				diff, same = on, off
			}
			if same > diff && (diff < minDiff || (diff == minDiff && same > maxSame)) {
				best, minDiff, maxSame = j, diff, same
			}
		}
		if best < 0 {
			break
		}
		op, inv := "+@", "-@"
		if !additive {
			op, inv = inv, op
		}
		x.applySelector(&fake, op+Categories[best])
		x.applySelector(&temp, inv+Categories[best])
		rules = append(rules, op+Categories[best])
		applied[best] = true
	}
	for _, c := range x.order {
		id := x.ids[c]
		if want := s.bit(id); want != fake.bit(id) {
			sign := "-"
			if want {
				sign = "+"
			}
			rules = append(rules, sign+c.Name)
			x.setCommand(&fake, c, want)
		}
		for _, a := range s.firstArgs[id] {
			rules = append(rules, "+"+c.Name+"|"+a)
		}
	}
	return strings.Join(rules, " ")
}

// count counts the commands of category cat that s allows (on) and
// denies (off).
func (x *Index) count(s *Selector, cat string) (on, off int) {
	for _, c := range x.order {
		if inCategory(c, cat) {
			if s.bit(x.ids[c]) {
				on++
			} else {
				off++
			}
		}
	}
	return on, off
}
