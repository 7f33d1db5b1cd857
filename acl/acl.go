// Package acl is Redis 7.0's access control lists: users with passwords,
// and selectors that allow commands (by name and category), keys (by
// pattern, for reading, writing or both) and pub/sub channels. The rules
// and their errors, the descriptions ACL LIST and GETUSER give, and the
// checks of each command follow Redis's acl.c.
package acl

import (
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"math/bits"
	"strings"

	"github.com/shoaldb/shoal/commands"
)

// Index numbers the commands of a table, subcommands included, so that a
// selector holds its allowed commands as a bit set, and knows each
// category's members.
type Index struct {
	ids    map[*commands.Command]int
	byName map[string]*commands.Command // by original name, "client|list"
	order  []*commands.Command          // the table's order, containers before their subcommands
}

// NewIndex numbers t's commands.
func NewIndex(t *commands.Table) *Index {
	x := &Index{ids: map[*commands.Command]int{}, byName: map[string]*commands.Command{}}
	var add func(c *commands.Command)
	add = func(c *commands.Command) {
		x.ids[c] = len(x.order)
		x.byName[c.Name] = c
		x.order = append(x.order, c)
		for _, s := range c.Subcommands {
			add(s)
		}
	}
	for _, c := range t.All() {
		add(c)
	}
	return x
}

// future is the bit of commands the table does not hold, which +@all
// allows, as Redis's reserved command bit.
func (x *Index) future() int { return len(x.order) }

func (x *Index) words() int { return (len(x.order) + 1 + 63) / 64 }

// Categories are Redis 7.0's ACL categories, in its order.
var Categories = []string{"keyspace", "read", "write", "set", "sortedset", "list", "hash", "string", "bitmap",
	"hyperloglog", "geo", "stream", "pubsub", "admin", "fast", "slow", "blocking", "dangerous", "connection",
	"transaction", "scripting"}

func validCategory(name string) bool {
	for _, c := range Categories {
		if c == name {
			return true
		}
	}
	return false
}

func inCategory(c *commands.Command, cat string) bool {
	for _, a := range c.ACL {
		if a == cat {
			return true
		}
	}
	return false
}

// Key permissions of a pattern.
const (
	Read  = 1
	Write = 2
	RW    = Read | Write
)

type keyPattern struct {
	pattern string
	flags   int
}

func (p keyPattern) String() string {
	switch p.flags {
	case Read:
		return "%R~" + p.pattern
	case Write:
		return "%W~" + p.pattern
	}
	return "~" + p.pattern
}

// Selector is a set of permissions: the root one of a user, or one of
// its selectors ("(...)" rules); a command runs when one allows it.
type Selector struct {
	cmds []uint64
	// firstArgs are the first arguments with which a command it denies
	// runs all the same ("+select|0"), by command id.
	firstArgs   map[int][]string
	allKeys     bool
	keys        []keyPattern
	allChannels bool
	channels    []string
}

func (s *Selector) bit(id int) bool { return s.cmds[id/64]&(1<<(id%64)) != 0 }

func (s *Selector) set(id int, on bool) {
	delete(s.firstArgs, id)
	if on {
		s.cmds[id/64] |= 1 << (id % 64)
	} else {
		s.cmds[id/64] &^= 1 << (id % 64)
	}
}

func (s *Selector) clone() Selector {
	c := *s
	c.cmds = append([]uint64(nil), s.cmds...)
	c.keys = append([]keyPattern(nil), s.keys...)
	c.channels = append([]string(nil), s.channels...)
	c.firstArgs = nil
	for id, a := range s.firstArgs {
		if c.firstArgs == nil {
			c.firstArgs = map[int][]string{}
		}
		c.firstArgs[id] = append([]string(nil), a...)
	}
	return c
}

// User is an ACL user.
type User struct {
	Name      string
	Enabled   bool
	NoPass    bool
	Passwords []string // SHA-256 hashes, in hex, in the order they were added
	// Sanitize is "" until sanitize-payload or skip-sanitize-payload set it.
	Sanitize  string
	Root      Selector
	Selectors []Selector
}

// NewUser is a user as ACL SETUSER creates it: off, no password, no
// permission; channels as acl-pubsub-default says (allChannels).
func (x *Index) NewUser(name string, allChannels bool) *User {
	u := &User{Name: name}
	u.Root = x.newSelector(allChannels)
	return u
}

func (x *Index) newSelector(allChannels bool) Selector {
	return Selector{cmds: make([]uint64, x.words()), allChannels: allChannels}
}

// Clone returns a deep copy of u.
func (u *User) Clone() *User {
	c := *u
	c.Passwords = append([]string(nil), u.Passwords...)
	c.Root = u.Root.clone()
	c.Selectors = nil
	for i := range u.Selectors {
		c.Selectors = append(c.Selectors, u.Selectors[i].clone())
	}
	return &c
}

// HashPassword is the SHA-256 hash in hex that ACL keeps of a password.
func HashPassword(p string) string {
	h := sha256.Sum256([]byte(p))
	return hex.EncodeToString(h[:])
}

// Rule errors, as Redis's ACLSetUserStringError words them.
var (
	ErrUnknown    = errors.New("Unknown command or category name in ACL")
	ErrSyntax     = errors.New("Syntax error")
	ErrAfterAll   = errors.New("Adding a pattern after the * pattern (or the 'allkeys' flag) is not valid and does not have any effect. Try 'resetkeys' to start with an empty list of patterns")
	ErrAfterAllCh = errors.New("Adding a pattern after the * pattern (or the 'allchannels' flag) is not valid and does not have any effect. Try 'resetchannels' to start with an empty list of channels")
	ErrNoSuchPass = errors.New("The password you are trying to remove from the user does not exist")
	ErrBadHash    = errors.New("The password hash must be exactly 64 characters and contain only lowercase hexadecimal characters")
	ErrFirstArg   = errors.New("Allowing first-arg of a subcommand is not supported")
)

// Apply applies one rule to u, as Redis's ACLSetUser does; allChannels
// is acl-pubsub-default's, for reset.
func (x *Index) Apply(u *User, rule string, allChannels bool) error {
	low := strings.ToLower(rule)
	switch {
	case low == "on":
		u.Enabled = true
	case low == "off":
		u.Enabled = false
	case low == "skip-sanitize-payload", low == "sanitize-payload":
		u.Sanitize = low
	case low == "nopass":
		u.NoPass, u.Passwords = true, nil
	case low == "resetpass":
		u.NoPass, u.Passwords = false, nil
	case low == "reset":
		for _, r := range []string{"resetpass", "resetkeys", "resetchannels"} {
			x.Apply(u, r, allChannels)
		}
		u.Root.allChannels = allChannels
		u.Enabled, u.Sanitize, u.Selectors = false, "sanitize-payload", nil
		x.applySelector(&u.Root, "-@all")
	case low == "clearselectors":
		u.Selectors = nil
	case strings.HasPrefix(rule, ">"), strings.HasPrefix(rule, "#"):
		h, err := passwordHash(rule, '#')
		if err != nil {
			return err
		}
		if !contains(u.Passwords, h) {
			u.Passwords = append(u.Passwords, h)
		}
		u.NoPass = false
	case strings.HasPrefix(rule, "<"), strings.HasPrefix(rule, "!"):
		h, err := passwordHash(rule, '!')
		if err != nil {
			return err
		}
		i := index(u.Passwords, h)
		if i < 0 {
			return ErrNoSuchPass
		}
		u.Passwords = append(u.Passwords[:i], u.Passwords[i+1:]...)
	case len(rule) >= 2 && rule[0] == '(' && rule[len(rule)-1] == ')':
		s := x.newSelector(false)
		for _, r := range strings.Fields(rule[1 : len(rule)-1]) {
			if err := x.applySelector(&s, r); err != nil {
				return err
			}
		}
		u.Selectors = append(u.Selectors, s)
	default:
		return x.applySelector(&u.Root, rule)
	}
	return nil
}

// applySelector applies a rule of commands, keys or channels to s.
func (x *Index) applySelector(s *Selector, rule string) error {
	low := strings.ToLower(rule)
	switch {
	case low == "allkeys":
		return x.applySelector(s, "~*")
	case low == "resetkeys":
		s.allKeys, s.keys = false, nil
	case low == "allchannels":
		return x.applySelector(s, "&*")
	case low == "resetchannels":
		s.allChannels, s.channels = false, nil
	case low == "allcommands":
		return x.applySelector(s, "+@all")
	case low == "nocommands":
		return x.applySelector(s, "-@all")
	case rule[0] == '~' || rule[0] == '%':
		flags, pat := RW, rule[1:]
		if rule[0] == '%' {
			flags = 0
			i := 1
			for ; i < len(rule) && rule[i] != '~'; i++ {
				switch {
				case (rule[i] == 'R' || rule[i] == 'r') && flags&Read == 0:
					flags |= Read
				case (rule[i] == 'W' || rule[i] == 'w') && flags&Write == 0:
					flags |= Write
				default:
					return ErrSyntax
				}
			}
			if flags == 0 {
				return ErrSyntax
			}
			pat = ""
			if i < len(rule) {
				pat = rule[i+1:]
			}
		}
		if rule == "~*" {
			// NB: only "~*" and allkeys mean every key; "%RW~*" is a
			// pattern, which later patterns may join, as in Redis.
			s.allKeys, s.keys = true, nil
			return nil
		}
		if s.allKeys {
			return ErrAfterAll
		}
		// A pattern given again adds its permissions to the first one,
		// as Redis's ACLSetSelector does: %R~k %W~k is ~k.
		for i := range s.keys {
			if s.keys[i].pattern == pat {
				s.keys[i].flags |= flags
				return nil
			}
		}
		s.keys = append(s.keys, keyPattern{pat, flags})
	case rule[0] == '&':
		if rule[1:] == "*" {
			s.allChannels, s.channels = true, nil
			return nil
		}
		if s.allChannels {
			return ErrAfterAllCh
		}
		if !contains(s.channels, rule[1:]) {
			s.channels = append(s.channels, rule[1:])
		}
	case len(rule) > 1 && (rule[0] == '+' || rule[0] == '-') && rule[1] == '@':
		on := rule[0] == '+'
		cat := low[2:]
		if cat == "all" {
			s.firstArgs = nil
			for i := range s.cmds {
				s.cmds[i] = 0
				if on {
					s.cmds[i] = ^uint64(0)
				}
			}
			return nil
		}
		if !validCategory(cat) {
			return ErrUnknown
		}
		for _, c := range x.order {
			if inCategory(c, cat) {
				s.set(x.ids[c], on)
			}
		}
	case len(rule) > 1 && rule[0] == '-':
		c := x.byName[low[1:]]
		if c == nil {
			return ErrUnknown
		}
		x.setCommand(s, c, false)
		return nil
	case len(rule) > 1 && rule[0] == '+':
		name := low[1:]
		i := strings.LastIndexByte(name, '|')
		if i < 0 {
			c := x.byName[name]
			if c == nil {
				return ErrUnknown
			}
			x.setCommand(s, c, true)
			return nil
		}
		// As Redis's ACLSetSelector: what comes before the last '|' is a
		// command; after it, a subcommand of a container, or a first
		// argument with which an otherwise denied command runs
		// ("+select|0").
		parent, arg := x.byName[name[:i]], name[i+1:]
		switch {
		case parent == nil:
			return ErrUnknown
		case parent.Parent != nil:
			return ErrFirstArg
		case arg == "":
			return ErrSyntax
		case len(parent.Subcommands) > 0:
			c := x.byName[name]
			if c == nil {
				return ErrUnknown
			}
			x.setCommand(s, c, true)
			return nil
		}
		id := x.ids[parent]
		if !s.bit(id) && !contains(s.firstArgs[id], arg) {
			if s.firstArgs == nil {
				s.firstArgs = map[int][]string{}
			}
			s.firstArgs[id] = append(s.firstArgs[id], arg)
		}
		return nil
	default:
		return ErrSyntax
	}
	return nil
}

// setCommand allows or denies c, and a container's subcommands with it.
func (x *Index) setCommand(s *Selector, c *commands.Command, on bool) {
	s.set(x.ids[c], on)
	for _, sub := range c.Subcommands {
		x.setCommand(s, sub, on)
	}
}

// passwordHash is the hash a password rule names: the rule's password's,
// or, for a rule starting with hashed ('#' or '!'), the hash it gives.
func passwordHash(rule string, hashed byte) (string, error) {
	if rule[0] != hashed {
		return HashPassword(rule[1:]), nil
	}
	if !validHash(rule[1:]) {
		return "", ErrBadHash
	}
	return rule[1:], nil
}

func validHash(h string) bool {
	if len(h) != 64 {
		return false
	}
	for i := 0; i < len(h); i++ {
		if !('0' <= h[i] && h[i] <= '9' || 'a' <= h[i] && h[i] <= 'f') {
			return false
		}
	}
	return true
}

func contains(l []string, s string) bool { return index(l, s) >= 0 }

func index(l []string, s string) int {
	for i, x := range l {
		if x == s {
			return i
		}
	}
	return -1
}

// MergeSelectorArgs joins the arguments of ACL SETUSER that one selector
// spans, "(~key*" "+get)" into "(~key* +get)", as Redis's
// ACLMergeSelectorArguments does; open is the first argument of a
// selector left open, "" when none is.
func MergeSelectorArgs(args []string) (out []string, open string) {
	var sel []string
	for _, a := range args {
		switch {
		case sel != nil:
			sel = append(sel, a)
			if strings.HasSuffix(a, ")") {
				out, sel = append(out, strings.Join(sel, " ")), nil
			}
		case strings.HasPrefix(a, "(") && !strings.HasSuffix(a, ")"):
			sel = []string{a}
		default:
			out = append(out, a)
		}
	}
	if sel != nil {
		return out, sel[0]
	}
	return out, ""
}

// CheckPassword reports whether pass opens u: u is on, and has nopass or
// pass's hash.
func (u *User) CheckPassword(pass string) bool {
	if !u.Enabled {
		return false
	}
	if u.NoPass {
		return true
	}
	// NB: every hash compared in full, as Redis's
	// time_independent_strcmp does.
	h, ok := []byte(HashPassword(pass)), false
	for _, p := range u.Passwords {
		ok = subtle.ConstantTimeCompare(h, []byte(p)) == 1 || ok
	}
	return ok
}

// AllowsAll reports whether u may run every command on every key and
// channel, which spares it the checks.
func (u *User) AllowsAll() bool {
	r := &u.Root
	if !r.allKeys || !r.allChannels {
		return false
	}
	for _, w := range r.cmds {
		if bits.OnesCount64(w) != 64 {
			return false
		}
	}
	return true
}
