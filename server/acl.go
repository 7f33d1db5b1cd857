package server

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/shoaldb/shoal/commands"
	"github.com/shoaldb/shoal/config"
)

// ACL answers ACL GETUSER, LIST, LOG and SETUSER for Shoal's one user,
// default: every permission, and requirepass's password.
func (s *Server) ACL(c *commands.Ctx) error {
	switch sub := c.Args[1]; {
	case commands.Is(sub, "getuser"):
		if string(c.Args[2]) != "default" {
			c.Out.Null()
			return nil
		}
		pass := s.password()
		c.Out.Map(6)
		c.Out.BulkString("flags")
		flags := []string{"on"}
		if pass == "" {
			flags = append(flags, "nopass")
		}
		c.Out.Set(len(flags))
		for _, f := range flags {
			c.Out.BulkString(f)
		}
		c.Out.BulkString("passwords")
		if pass == "" {
			c.Out.Array(0)
		} else {
			c.Out.Array(1)
			c.Out.BulkString(passwordHash(pass))
		}
		for _, kv := range [][2]string{{"commands", "+@all"}, {"keys", "~*"}, {"channels", "&*"}} {
			c.Out.BulkString(kv[0])
			c.Out.BulkString(kv[1])
		}
		c.Out.BulkString("selectors")
		c.Out.Array(0)
	case commands.Is(sub, "list"):
		c.Out.StringArray([]string{"user default on " + s.defaultUserPass() + " ~* &* +@all"})
	case commands.Is(sub, "log"):
		return s.aclLog.reply(c)
	case commands.Is(sub, "setuser"):
		return s.aclSetUser(c)
	}
	return nil
}

// defaultUserPass is the default user's password rule in ACL LIST.
func (s *Server) defaultUserPass() string {
	if pass := s.password(); pass != "" {
		return "#" + passwordHash(pass)
	}
	return "nopass"
}

func passwordHash(p string) string {
	h := sha256.Sum256([]byte(p))
	return hex.EncodeToString(h[:])
}

// aclSetUser is ACL SETUSER default with the rules that leave it what
// it is, every permission, and those that set its password, as CONFIG
// SET requirepass does: one password or none.
func (s *Server) aclSetUser(c *commands.Ctx) error {
	if string(c.Args[2]) != "default" {
		return commands.Errf("Error in ACL SETUSER modifier '%s': Shoal has one ACL user, default", c.Args[2])
	}
	rules := make([]string, len(c.Args)-3)
	for i, a := range c.Args[3:] {
		rules[i] = string(a)
	}
	pass, set, err := defaultUserRules(rules, s.password())
	if err != nil {
		return commands.Errf("Error in ACL SETUSER modifier %s", err)
	}
	if set {
		if err := s.ConfigSet([][2]string{{"requirepass", pass}}, true); err != nil {
			return err
		}
	}
	c.Out.OK()
	return nil
}

// defaultUserRules applies ACL rules to the default user whose password
// is pass: those that keep every permission, and those that set or clear
// its one password. set reports that the password is the new pass.
func defaultUserRules(rules []string, pass string) (newPass string, set bool, err error) {
	for _, rule := range rules {
		switch low := strings.ToLower(rule); {
		case low == "on", low == "~*", low == "allkeys", low == "&*", low == "allchannels",
			low == "+@all", low == "allcommands", low == "%rw~*":
		case low == "nopass", low == "resetpass":
			pass, set = "", true
		case strings.HasPrefix(rule, ">") && (pass == "" || pass == rule[1:]):
			pass, set = rule[1:], true
		case strings.HasPrefix(rule, "<") && pass == rule[1:]:
			pass, set = "", true
		default:
			return "", false, fmt.Errorf("'%s': the default user keeps every permission and one password at most", rule)
		}
	}
	return pass, set, nil
}

// aclLog is ACL LOG's: the refusals of AUTH, newest first, those of the
// same user and context within a minute counted as one, as Redis 7.0
// groups them.
type aclLog struct {
	mu struct {
		sync.Mutex
		entries []*aclEntry
	}
}

type aclEntry struct {
	count             int64
	context, username string
	object            string    // the command's name as the client sent it
	updated           time.Time // the last refusal counted
	clientInfo        string
}

// denied records a refused AUTH of username by the client whose CLIENT
// LIST line is info.
func (l *aclLog) denied(context, object, username, info string, max int64) {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := time.Now()
	for i, e := range l.mu.entries {
		if e.context == context && e.object == object && e.username == username && now.Sub(e.updated) < time.Minute {
			e.count++
			e.updated, e.clientInfo = now, info
			copy(l.mu.entries[1:i+1], l.mu.entries[:i])
			l.mu.entries[0] = e
			return
		}
	}
	l.mu.entries = append([]*aclEntry{{count: 1, context: context, object: object, username: username,
		updated: now, clientInfo: info}}, l.mu.entries...)
	if int64(len(l.mu.entries)) > max {
		l.mu.entries = l.mu.entries[:max]
	}
}

// reply is ACL LOG [count | RESET].
func (l *aclLog) reply(c *commands.Ctx) error {
	n := int64(10)
	if len(c.Args) == 3 {
		if commands.Is(c.Args[2], "reset") {
			l.mu.Lock()
			l.mu.entries = nil
			l.mu.Unlock()
			c.Out.OK()
			return nil
		}
		v, err := commands.ParseInt(c.Args[2])
		if err != nil {
			return err
		}
		n = max(v, 0) // NB: a negative count shows nothing, as in Redis 7.0
	} else if len(c.Args) > 3 {
		return commands.ErrUnknownSubcommand(c.Args[1], "acl")
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	shown := l.mu.entries[:min(int64(len(l.mu.entries)), n)]
	c.Out.Array(len(shown))
	now := time.Now()
	for _, e := range shown {
		c.Out.Map(7)
		c.Out.BulkString("count")
		c.Out.Int(e.count)
		for _, kv := range [][2]string{{"reason", "auth"}, {"context", e.context}, {"object", e.object}, {"username", e.username}} {
			c.Out.BulkString(kv[0])
			c.Out.BulkString(kv[1])
		}
		c.Out.BulkString("age-seconds")
		c.Out.Double(float64(now.Sub(e.updated).Milliseconds()) / 1000) // NB: since the last, as Redis 7.0
		c.Out.BulkString("client-info")
		c.Out.BulkString(e.clientInfo)
	}
	return nil
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
	var b strings.Builder
	s.writeClientLine(&b, connOf(c), c)
	s.aclLog.denied(context, string(c.Args[0]), user, strings.TrimSuffix(b.String(), "\n"), int64(s.Config().AclLogMaxLen))
}

// applyUsers reads the configuration's user lines, as redis-server reads
// them at start: the default user's rules apply as ACL SETUSER default's
// do (a password becomes requirepass), and a rule Shoal cannot honour
// stops the start rather than leave the server open. Other users are
// left out: no one can authenticate as them.
func applyUsers(cfg *config.Config) (*config.Config, error) {
	if len(cfg.Users) == 0 {
		return cfg, nil
	}
	cfg = cfg.Clone()
	for _, u := range cfg.Users {
		if u[0] != "default" {
			continue
		}
		pass, set, err := defaultUserRules(u[1:], cfg.RequirePass)
		if err != nil {
			return nil, fmt.Errorf("config: user default: %w", err)
		}
		if set {
			cfg.RequirePass = pass
		}
	}
	return cfg, nil
}
