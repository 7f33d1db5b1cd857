package server

import (
	"sync"
	"time"

	"github.com/shoaldb/shoal/commands"
)

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
	count                     int64
	reason, context, username string
	object                    string    // the command's name as the client sent it
	updated                   time.Time // the last refusal counted
	clientInfo                string
}

// denied records a refusal (reason auth, command, key or channel) of
// object to username by the client whose CLIENT LIST line is info.
func (l *aclLog) denied(reason, context, object, username, info string, max int64) {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := time.Now()
	for i, e := range l.mu.entries {
		if e.reason == reason && e.context == context && e.object == object && e.username == username && now.Sub(e.updated) < time.Minute {
			e.count++
			e.updated, e.clientInfo = now, info
			copy(l.mu.entries[1:i+1], l.mu.entries[:i])
			l.mu.entries[0] = e
			return
		}
	}
	l.mu.entries = append([]*aclEntry{{count: 1, reason: reason, context: context, object: object, username: username,
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
		return commands.ErrSubcommandSyntax(c)
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
		for _, kv := range [][2]string{{"reason", e.reason}, {"context", e.context}, {"object", e.object}, {"username", e.username}} {
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
