package server

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/shoaldb/shoal/acl"
	"github.com/shoaldb/shoal/commands"
	"github.com/shoaldb/shoal/config"
)

// users are the server's ACL users. A connection holds its user's ref:
// ACL SETUSER replaces what the ref points to, so a change reaches the
// connections authenticated as the user at their next command, as in
// Redis.
type users struct {
	x  *acl.Index
	mu struct {
		sync.Mutex
		m map[string]*userRef
	}
}

type userRef struct{ p atomic.Pointer[aclUser] }

// aclUser is a user as the checks read it, never changed once stored.
type aclUser struct {
	u   *acl.User
	all bool // allowed everything: no check needed
}

func (r *userRef) load() *aclUser { return r.p.Load() }

func (r *userRef) store(u *acl.User) { r.p.Store(&aclUser{u: u, all: u.AllowsAll()}) }

// newUsers makes the default user, as Redis starts it: on, every
// permission, and requirepass's password or nopass.
func newUsers(x *acl.Index, requirepass string) *users {
	us := &users{x: x}
	us.mu.m = map[string]*userRef{}
	u := x.NewUser("default", true)
	for _, r := range []string{"on", "~*", "&*", "+@all"} {
		x.Apply(u, r, true)
	}
	setDefaultPassword(x, u, requirepass)
	ref := &userRef{}
	ref.store(u)
	us.mu.m["default"] = ref
	return us
}

// setDefaultPassword is Redis's ACLUpdateDefaultUserPassword: requirepass
// replaces the default user's passwords.
func setDefaultPassword(x *acl.Index, u *acl.User, pass string) {
	x.Apply(u, "resetpass", true)
	if pass == "" {
		x.Apply(u, "nopass", true)
	} else {
		x.Apply(u, ">"+pass, true)
	}
}

func (us *users) get(name string) *userRef {
	us.mu.Lock()
	defer us.mu.Unlock()
	return us.mu.m[name]
}

func (us *users) defaultRef() *userRef { return us.get("default") }

func (us *users) names() []string {
	us.mu.Lock()
	defer us.mu.Unlock()
	out := make([]string, 0, len(us.mu.m))
	for n := range us.mu.m {
		out = append(out, n)
	}
	slices.Sort(out)
	return out
}

// setUser applies rules to the user called name, created when missing,
// all or none, as ACL SETUSER does; allChannels is acl-pubsub-default's.
// It returns the user's ref and what it was before (nil when new).
func (us *users) setUser(name string, rules []string, allChannels bool) (*userRef, *acl.User, error) {
	rules, open := acl.MergeSelectorArgs(rules)
	if open != "" {
		return nil, nil, fmt.Errorf("Unmatched parenthesis in acl selector starting at '%s'.", open)
	}
	us.mu.Lock()
	defer us.mu.Unlock()
	ref := us.mu.m[name]
	var u, prev *acl.User
	if ref != nil {
		prev = ref.load().u
		u = prev.Clone()
	} else {
		u = us.x.NewUser(name, allChannels)
	}
	for _, r := range rules {
		if err := us.x.Apply(u, r, allChannels); err != nil {
			return nil, nil, fmt.Errorf("Error in ACL SETUSER modifier '%s': %s", r, err)
		}
	}
	if ref == nil {
		ref = &userRef{}
		us.mu.m[name] = ref
	}
	ref.store(u)
	return ref, prev, nil
}

// closeRevokedSubscribers closes the clients of ref subscribed to a
// channel or pattern that kept no longer allows, as Redis's ACL SETUSER
// does when it takes channels away; self, if among them, closes after
// its reply.
func (s *Server) closeRevokedSubscribers(ref *userRef, kept func(ch []byte, pattern bool) bool, self *conn) {
	var doomed []*conn
	s.clientsMu.Lock()
	for _, cn := range s.clients {
		if cn.userRef.Load() == ref && cn.ps.Load() != nil {
			doomed = append(doomed, cn)
		}
	}
	s.clientsMu.Unlock()
	revoked := func(set map[string]struct{}, pattern bool) bool {
		for ch := range set {
			if !kept([]byte(ch), pattern) {
				return true
			}
		}
		return false
	}
	r := &s.pubsub
	for _, cn := range doomed {
		sub := cn.ps.Load()
		if sub == nil {
			continue
		}
		r.mu.Lock()
		kill := revoked(sub.patterns, true) || revoked(sub.channels, false) || revoked(sub.shards, false)
		r.mu.Unlock()
		if kill {
			cn.closeFor(self)
		}
	}
}

// allChannels reports whether new users get every channel
// (acl-pubsub-default allchannels).
func (s *Server) allChannels() bool { return s.Config().ACLPubsubDefault == "allchannels" }

// loadUsers applies the configuration's user lines at start, as
// redis-server reads them; a line Redis would refuse stops the start.
func (s *Server) loadUsers(cfg *config.Config) error {
	all := cfg.ACLPubsubDefault == "allchannels"
	for _, line := range cfg.Users {
		rules := line[1:]
		if line[0] == "default" {
			// NB: as Redis's ACLLoadConfiguredUsers, the default user's
			// line starts from a reset user: channels as
			// acl-pubsub-default says, not all of them.
			rules = append([]string{"reset"}, rules...)
		}
		if _, _, err := s.users.setUser(line[0], rules, all); err != nil {
			return fmt.Errorf("config: user %s: %w", line[0], err)
		}
	}
	if cfg.ACLFile != "" {
		if len(cfg.Users) > 0 {
			return errors.New("config: Configuring Redis with users defined in redis.conf and at the same setting an ACL file path is invalid. This setup is very likely to lead to configuration errors and security holes, please define either an ACL file or declare users directly in your redis.conf, but not both.")
		}
		if err := s.loadACLFile(cfg.InDir(cfg.ACLFile), nil); err != nil {
			return fmt.Errorf("config: aclfile: %w", err)
		}
	}
	return nil
}

// ACL answers the ACL subcommands that read or change the users.
func (s *Server) ACL(c *commands.Ctx) error {
	us := s.users
	switch sub := strings.ToLower(string(c.Args[1])); sub {
	case "getuser":
		ref := us.get(string(c.Args[2]))
		if ref == nil {
			c.Out.Null()
			return nil
		}
		s.writeUser(c, ref.load().u)
	case "list":
		names := us.names()
		lines := make([]string, len(names))
		for i, n := range names {
			lines[i] = "user " + n + " " + us.x.Describe(us.get(n).load().u)
		}
		c.Out.StringArray(lines)
	case "users":
		c.Out.StringArray(us.names())
	case "whoami":
		c.Out.BulkString(c.Client.User)
	case "log":
		return s.aclLog.reply(c)
	case "setuser":
		if bytes.ContainsFunc(c.Args[2], func(r rune) bool { return r == 0 || isCSpace(r) }) {
			return commands.Errf("Usernames can't contain spaces or null characters")
		}
		rules := make([]string, len(c.Args)-3)
		for i, a := range c.Args[3:] {
			rules[i] = string(a)
		}
		ref, prev, err := us.setUser(string(c.Args[2]), rules, s.allChannels())
		if err != nil {
			return commands.Errf("%s", err)
		}
		if prev != nil {
			if kept := acl.ChannelsKept(prev, ref.load().u); kept != nil {
				s.closeRevokedSubscribers(ref, kept, connOf(c))
			}
		}
		c.Out.OK()
	case "deluser":
		return s.aclDelUser(c)
	case "dryrun":
		return s.aclDryRun(c)
	case "load":
		path := s.Config().InDir(s.Config().ACLFile)
		if path == "" {
			return errNoACLFile
		}
		if err := s.loadACLFile(path, connOf(c)); err != nil {
			return commands.Errf("%s", err)
		}
		c.Out.OK()
	case "save":
		path := s.Config().InDir(s.Config().ACLFile)
		if path == "" {
			return errNoACLFile
		}
		if err := s.saveACLFile(path); err != nil {
			s.log.Warn("ACL SAVE failed", "err", err)
			return commands.Errf("There was an error trying to save the ACLs. Please check the server logs for more information")
		}
		c.Out.OK()
	}
	return nil
}

var errNoACLFile = commands.Errf("This Redis instance is not configured to use an ACL file. You may want to specify users via the ACL SETUSER command and then issue a CONFIG REWRITE (assuming you have a Redis configuration file set) in order to store users in the Redis configuration.")

// writeUser is ACL GETUSER's reply.
func (s *Server) writeUser(c *commands.Ctx, u *acl.User) {
	x := s.users.x
	c.Out.MarkDeferred() // NB: Redis counts the user's fields as it goes
	c.Out.Map(6)
	c.Out.BulkString("flags")
	flags := u.Flags()
	c.Out.Set(len(flags))
	for _, f := range flags {
		c.Out.BulkString(f)
	}
	c.Out.BulkString("passwords")
	c.Out.StringArray(u.Passwords)
	c.Out.BulkString("commands")
	c.Out.BulkString(x.Commands(&u.Root))
	c.Out.BulkString("keys")
	c.Out.BulkString(u.Root.KeysString())
	c.Out.BulkString("channels")
	c.Out.BulkString(u.Root.ChannelsString())
	c.Out.BulkString("selectors")
	c.Out.Array(len(u.Selectors))
	for i := range u.Selectors {
		sel := &u.Selectors[i]
		c.Out.Map(3)
		for _, kv := range [][2]string{{"commands", x.Commands(sel)}, {"keys", sel.KeysString()}, {"channels", sel.ChannelsString()}} {
			c.Out.BulkString(kv[0])
			c.Out.BulkString(kv[1])
		}
	}
}

// aclDelUser is ACL DELUSER: the users go, and the connections
// authenticated as them are closed, as Redis does.
func (s *Server) aclDelUser(c *commands.Ctx) error {
	us := s.users
	for _, a := range c.Args[2:] {
		if string(a) == "default" {
			return commands.Errf("The 'default' user cannot be removed")
		}
	}
	var gone []*userRef
	us.mu.Lock()
	for _, a := range c.Args[2:] {
		if ref := us.mu.m[string(a)]; ref != nil {
			gone = append(gone, ref)
			delete(us.mu.m, string(a))
		}
	}
	us.mu.Unlock()
	s.closeClientsOf(gone, connOf(c))
	c.Out.Int(int64(len(gone)))
	return nil
}

// closeClientsOf closes the connections authenticated as one of refs;
// self, if among them, closes after its reply.
func (s *Server) closeClientsOf(refs []*userRef, self *conn) {
	if len(refs) == 0 {
		return
	}
	s.clientsMu.Lock()
	defer s.clientsMu.Unlock()
	for _, cn := range s.clients {
		if slices.Contains(refs, cn.userRef.Load()) {
			cn.closeFor(self)
		}
	}
}

// aclDryRun is ACL DRYRUN user command [arg ...]: whether the user may
// run it, in Redis 7.0's words.
func (s *Server) aclDryRun(c *commands.Ctx) error {
	ref := s.users.get(string(c.Args[2]))
	if ref == nil {
		return commands.Errf("User '%s' not found", c.Args[2])
	}
	args := c.Args[3:]
	cmd := s.table.Lookup(args[0])
	if cmd == nil {
		return commands.Errf("Command '%s' not found", args[0])
	}
	if len(cmd.Subcommands) > 0 && len(args) > 1 {
		if sub := cmd.Sub(args[1]); sub != nil {
			cmd = sub
		}
	}
	if !cmd.ArityOK(len(args)) {
		return commands.Errf("wrong number of arguments for '%s' command", cmd.Name)
	}
	if r, at := s.users.x.Check(ref.load().u, cmd, args); r != acl.OK {
		c.Out.BulkString(acl.DryRunMessage(r, cmd, args, at))
		return nil
	}
	c.Out.OK()
	return nil
}

// aclDenied runs the ACL checks of a command and records a denial in ACL
// LOG under context.
func (c *conn) aclDenied(cmd *commands.Command, args [][]byte, context string) acl.Result {
	r, at := c.aclResult(cmd, args)
	if r == acl.OK {
		return acl.OK
	}
	object := cmd.Name
	if r != acl.DeniedCommand {
		object = string(args[at])
	}
	c.s.logDenied(r.Reason(), context, object, &c.ctx)
	return r
}

// aclResult checks the connection's user's permission to run cmd with
// args, and returns the argument a denial names.
func (c *conn) aclResult(cmd *commands.Command, args [][]byte) (acl.Result, int) {
	ref := c.userRef.Load()
	if ref == nil || c.master {
		// NB: the stream of a redis-server primary runs unchecked, its
		// scripts too, as Redis's master client does.
		return acl.OK, 0
	}
	u := ref.load()
	if u.all {
		return acl.OK, 0
	}
	return c.s.users.x.Check(u.u, cmd, args)
}

// ReadsEveryKey reports whether the client's user may read every key
// with the command it runs (SORT's BY and GET patterns ask it); a
// redis-server primary's stream may.
func (s *Server) ReadsEveryKey(c *commands.Ctx) bool {
	cn, ok := c.Conn.(*conn)
	if !ok {
		return true
	}
	ref := cn.userRef.Load()
	if ref == nil || cn.master {
		return true
	}
	u := ref.load()
	return u.all || s.users.x.ReadsEveryKey(u.u, c.Cmd, c.Args)
}

// aclCheckScript is the check of a script's call, with Redis's errors.
func (c *conn) aclCheckScript(cmd *commands.Command, args [][]byte) error {
	switch c.aclDenied(cmd, args, "lua") {
	case acl.OK:
		return nil
	case acl.DeniedKey:
		return errors.New("The user executing the script can't access at least one of the keys mentioned in the command")
	case acl.DeniedChannel:
		return errors.New("The user executing the script can't publish to the channel mentioned in the command")
	}
	return errors.New("The user executing the script can't run this command or subcommand")
}

// aclCheck runs the ACL checks of a command about to run or be queued,
// and records a denial in ACL LOG; the error is Redis's NOPERM.
func (c *conn) aclCheck(cmd *commands.Command, args [][]byte) error {
	context := "toplevel"
	if c.multi != nil {
		context = "multi"
	}
	r := c.aclDenied(cmd, args, context)
	switch r {
	case acl.OK:
		return nil
	case acl.DeniedKey:
		return &commands.Error{Code: "NOPERM", Msg: "this user has no permissions to access one of the keys used as arguments"}
	case acl.DeniedChannel:
		return &commands.Error{Code: "NOPERM", Msg: "this user has no permissions to access one of the channels used as arguments"}
	}
	return &commands.Error{Code: "NOPERM", Msg: fmt.Sprintf("this user has no permissions to run the '%s' command", cmd.Name)}
}

// authDenied records a refused AUTH or HELLO AUTH in ACL LOG.
func (s *Server) authDenied(c *commands.Ctx, user string) {
	if user == "" {
		user = "default"
	}
	context := "toplevel"
	switch {
	case c.InScript:
		context = "lua"
	case c.InMulti:
		context = "multi"
	}
	s.aclLog.denied("auth", context, string(c.Args[0]), user, s.clientLine(c), int64(s.Config().AclLogMaxLen))
}

// logDenied records a denied command, key or channel in ACL LOG.
func (s *Server) logDenied(reason, context, object string, c *commands.Ctx) {
	s.aclLog.denied(reason, context, object, c.Client.User, s.clientLine(c), int64(s.Config().AclLogMaxLen))
}

func (s *Server) clientLine(c *commands.Ctx) string {
	var b strings.Builder
	s.writeClientLine(&b, connOf(c), c)
	return strings.TrimSuffix(b.String(), "\n")
}

// loadACLFile replaces the users with an ACL file's, all or none, as ACL
// LOAD does: each line "user <name> <rules...>"; the default user is
// created as at start when the file lacks it. self is the caller, if any.
func (s *Server) loadACLFile(path string, self *conn) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	pass := s.Config().RequirePass
	next := newUsers(s.users.x, pass)
	delete(next.mu.m, "default")
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64<<10), 16<<20)
	all := s.allChannels()
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || line[0] == '#' {
			continue
		}
		words, err := config.SplitArgs(line)
		if err != nil || len(words) < 2 || words[0] != "user" {
			return fmt.Errorf("%s:%d: line should start with user keyword", path, n)
		}
		if next.mu.m[words[1]] != nil {
			return fmt.Errorf("%s:%d: Duplicate user '%s' found", path, n, words[1])
		}
		if _, _, err := next.setUser(words[1], words[2:], all); err != nil {
			return fmt.Errorf("%s:%d: %s", path, n, err)
		}
	}
	if err := sc.Err(); err != nil {
		return err
	}
	if next.mu.m["default"] == nil {
		next.mu.m["default"] = newUsers(s.users.x, pass).defaultRef()
	}
	// NB: as Redis 7.0 frees the old users, the connections of every
	// user but the default one are closed, the caller after its reply;
	// the default user's take its new rules.
	us := s.users
	us.mu.Lock()
	var gone []*userRef
	for name, ref := range us.mu.m {
		if name == "default" {
			ref.store(next.mu.m[name].load().u)
			next.mu.m[name] = ref
		} else {
			gone = append(gone, ref)
		}
	}
	us.mu.m = next.mu.m
	us.mu.Unlock()
	s.closeClientsOf(gone, self)
	return nil
}

// saveACLFile writes every user as ACL LIST shows it into path, through
// a temporary file renamed over it.
func (s *Server) saveACLFile(path string) error {
	var b strings.Builder
	for _, n := range s.users.names() {
		b.WriteString("user " + n + " " + s.users.x.Describe(s.users.get(n).load().u) + "\n")
	}
	f, err := os.CreateTemp(filepath.Dir(path), filepath.Base(path)+".*")
	if err != nil {
		return err
	}
	defer os.Remove(f.Name())
	_, err = f.WriteString(b.String())
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(f.Name(), path)
	}
	return err
}

// isCSpace is C's isspace, as Redis's ACLStringHasSpaces asks it.
func isCSpace(r rune) bool {
	switch r {
	case ' ', '\t', '\n', '\v', '\f', '\r':
		return true
	}
	return false
}

// closeFor closes cn for an ACL change made by self: at once, or after
// its reply when cn is self.
func (cn *conn) closeFor(self *conn) {
	if cn == self {
		cn.closing = true
		return
	}
	cn.closeConn()
}
