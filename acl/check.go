package acl

import (
	"fmt"
	"slices"
	"strings"

	"github.com/shoaldb/shoal/commands"
)

// Result is a check's outcome; the denials are ordered as Redis's, which
// reports the highest of its selectors' denials.
type Result int

const (
	OK Result = iota
	DeniedCommand
	DeniedKey
	DeniedAuth
	DeniedChannel
)

// Reason is ACL LOG's reason of a denial.
func (r Result) Reason() string {
	switch r {
	case DeniedCommand:
		return "command"
	case DeniedKey:
		return "key"
	case DeniedChannel:
		return "channel"
	}
	return "auth"
}

// Check decides whether u may run c with args (the command's name
// first), as Redis's ACLCheckAllUserCommandPerm: allowed when one of its
// selectors allows the command, each key and each channel. A denial
// comes with the index of the argument it names (0 for the command).
func (x *Index) Check(u *User, c *commands.Command, args [][]byte) (Result, int) {
	worst, at := DeniedCommand, 0
	for _, s := range u.selectors() {
		r, i := x.checkSelectorAt(s, c, args)
		if r == OK {
			return OK, 0
		}
		if r > worst || (r == worst && i > at) {
			worst, at = r, i
		}
	}
	return worst, at
}

func (x *Index) checkSelectorAt(s *Selector, c *commands.Command, args [][]byte) (Result, int) {
	id, ok := x.ids[c]
	if !c.Flags.Has(commands.NoAuth) && (!ok || !s.bit(id)) && !s.firstArgAllowed(id, args) {
		return DeniedCommand, 0
	}
	if !s.allKeys && c.HasKeySpecs() {
		for _, k := range c.GetKeys(args) {
			if !s.keyAllowed(args[k.Pos], keyPerm(k.Flags)) {
				return DeniedKey, k.Pos
			}
		}
	}
	if !s.allChannels {
		for _, ch := range channelsOf(c, args) {
			if !s.channelAllowed(args[ch.pos], ch.pattern) {
				return DeniedChannel, ch.pos
			}
		}
	}
	return OK, 0
}

func (s *Selector) firstArgAllowed(id int, args [][]byte) bool {
	if len(args) < 2 {
		return false
	}
	for _, a := range s.firstArgs[id] {
		if strings.EqualFold(a, string(args[1])) {
			return true
		}
	}
	return false
}

// keyPerm is what a key spec's flags ask of a pattern: access reads,
// insert, delete and update write.
func keyPerm(flags []string) int {
	p := 0
	for _, f := range flags {
		switch f {
		case "access":
			p |= Read
		case "insert", "delete", "update":
			p |= Write
		}
	}
	return p
}

func (s *Selector) keyAllowed(key []byte, perm int) bool {
	for _, k := range s.keys {
		if k.flags&perm == perm && commands.GlobMatch([]byte(k.pattern), key) {
			return true
		}
	}
	return false
}

// channelAllowed matches a channel against the patterns; a pattern the
// command subscribes to must be one of them, letter for letter.
func (s *Selector) channelAllowed(ch []byte, pattern bool) bool {
	for _, p := range s.channels {
		if pattern && p == string(ch) || !pattern && commands.GlobMatch([]byte(p), ch) {
			return true
		}
	}
	return false
}

type channelAt struct {
	pos     int
	pattern bool
}

// channelsOf finds the channels c publishes or subscribes to, as Redis's
// getChannelsFromCommand does for the checks.
func channelsOf(c *commands.Command, args [][]byte) []channelAt {
	var out []channelAt
	switch c.Name {
	case "publish", "spublish":
		if len(args) > 1 {
			out = append(out, channelAt{1, false})
		}
	case "subscribe", "ssubscribe", "psubscribe":
		for i := 1; i < len(args); i++ {
			out = append(out, channelAt{i, c.Name == "psubscribe"})
		}
	}
	return out
}

// DryRunMessage is ACL DRYRUN's answer to a denial, in Redis 7.0's words.
func DryRunMessage(r Result, c *commands.Command, args [][]byte, at int) string {
	switch r {
	case DeniedKey:
		return fmt.Sprintf("This user has no permissions to access the '%s' key", args[at])
	case DeniedChannel:
		return fmt.Sprintf("This user has no permissions to access the '%s' channel", args[at])
	}
	return fmt.Sprintf("This user has no permissions to run the '%s' command", c.Name)
}

// Users returns names sorted, as ACL USERS and LIST list them.
func Users(names []string) []string {
	out := slices.Clone(names)
	slices.Sort(out)
	return out
}

// ChannelsKept returns, when next takes from a user channels that prev
// gave it, the check each of the user's subscriptions must pass for its
// client to stay connected, as Redis 7.0's ACLKillPubsubClientsIfNeeded:
// a channel matched by, or a pattern equal to, a channel pattern of any
// of next's selectors. It returns nil when every subscription stays: a
// selector of next allows every channel, or next keeps all of prev's
// patterns.
func ChannelsKept(prev, next *User) func(ch []byte, pattern bool) bool {
	var upcoming []string
	for _, s := range next.selectors() {
		if s.allChannels {
			return nil
		}
		upcoming = append(upcoming, s.channels...)
	}
	superset := true
	for _, s := range prev.selectors() {
		if s.allChannels || slices.ContainsFunc(s.channels, func(p string) bool { return !slices.Contains(upcoming, p) }) {
			superset = false
			break
		}
	}
	if superset {
		return nil
	}
	all := &Selector{channels: upcoming}
	return all.channelAllowed
}

// selectors returns the user's root selector and its others.
func (u *User) selectors() []*Selector {
	out := []*Selector{&u.Root}
	for i := range u.Selectors {
		out = append(out, &u.Selectors[i])
	}
	return out
}

// ReadsEveryKey reports whether one of u's selectors that allows c with
// args may read every key, as Redis's
// ACLUserCheckCmdWithUnrestrictedKeyAccess asks for CMD_KEY_ACCESS:
// SORT's BY and GET patterns name keys no key spec shows.
func (x *Index) ReadsEveryKey(u *User, c *commands.Command, args [][]byte) bool {
	for _, s := range u.selectors() {
		if r, _ := x.checkSelectorAt(s, c, args); r == OK && s.readsEveryKey() {
			return true
		}
	}
	return false
}

func (s *Selector) readsEveryKey() bool {
	if s.allKeys {
		return true
	}
	for _, k := range s.keys {
		if k.flags&Read != 0 && k.pattern == "*" {
			return true
		}
	}
	return false
}
