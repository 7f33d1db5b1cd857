package commands

import (
	"strconv"
)

func connectionCommands() []*Command {
	return []*Command{
		{Name: "ping", Arity: -1, Flags: Fast | SubscriberOK | MaintenanceOK, ACL: []string{"fast", "connection"},
			Group: "connection", Summary: "Returns the server's liveliness response.", Since: "1.0.0", Complexity: "O(1)", Handler: ping},
		{Name: "echo", Arity: 2, Flags: Fast | Stale | Loading | MaintenanceOK, ACL: []string{"fast", "connection"},
			Group: "connection", Summary: "Returns the given string.", Since: "1.0.0", Complexity: "O(1)",
			Handler: func(c *Ctx) error { c.Out.Bulk(c.Args[1]); return nil }},
		{Name: "select", Arity: 2, Flags: Fast | Stale | Loading | MaintenanceOK, ACL: []string{"fast", "connection"},
			Group: "connection", Summary: "Changes the selected database.", Since: "1.0.0", Complexity: "O(1)", Handler: selectDB},
		{Name: "hello", Arity: -1, Flags: NoAuth | Fast | Stale | Loading | NoScript | AllowBusy | MaintenanceOK, ACL: []string{"fast", "connection"},
			Group: "connection", Summary: "Handshakes with the Redis server.", Since: "6.0.0", Complexity: "O(1)", Handler: hello},
		{Name: "auth", Arity: -2, Flags: NoAuth | Fast | Stale | Loading | NoScript | AllowBusy | MaintenanceOK, ACL: []string{"fast", "connection"},
			Group: "connection", Summary: "Authenticates the connection.", Since: "1.0.0", Complexity: "O(N) where N is the number of passwords defined for the user", Handler: auth},
		{Name: "quit", Arity: -1, Flags: NoAuth | Fast | Stale | Loading | NoScript | AllowBusy | MaintenanceOK | MultiCtl | SubscriberOK, ACL: []string{"fast", "connection"},
			Group: "connection", Summary: "Closes the connection.", Since: "1.0.0", Complexity: "O(1)",
			Handler: func(c *Ctx) error { c.Out.OK(); c.Server.Quit(c); return nil }},
		{Name: "reset", Arity: 1, Flags: NoAuth | Fast | Stale | Loading | NoScript | AllowBusy | MaintenanceOK | MultiCtl | SubscriberOK, ACL: []string{"fast", "connection"},
			Group: "connection", Summary: "Resets the connection.", Since: "6.2.0", Complexity: "O(1)",
			Handler: func(c *Ctx) error { c.Server.Reset(c); c.Out.Simple("RESET"); return nil }},
		clientCommand(),
	}
}

func ping(c *Ctx) error {
	// A RESP2 subscriber gets PING's answer in the shape of a message.
	if c.Client.Channels+c.Client.Patterns > 0 && c.Out.Proto() == 2 {
		if len(c.Args) > 2 {
			return ErrArity("ping")
		}
		c.Out.Array(2)
		c.Out.BulkString("pong")
		if len(c.Args) == 2 {
			c.Out.Bulk(c.Args[1])
		} else {
			c.Out.BulkString("")
		}
		return nil
	}
	switch len(c.Args) {
	case 1:
		c.Out.Simple("PONG")
	case 2:
		c.Out.Bulk(c.Args[1])
	default:
		return ErrArity("ping")
	}
	return nil
}

func selectDB(c *Ctx) error {
	n, err := ParseInt(c.Args[1])
	if err != nil {
		return ErrNotInteger
	}
	if n < 0 || n >= int64(c.Store.Databases()) {
		return ErrDBIndex
	}
	c.Client.DB = int(n)
	c.Out.OK()
	return nil
}

func hello(c *Ctx) error {
	proto := 0
	cur := NewCursor(c.Args, 1)
	if cur.More() {
		a, _ := cur.Next()
		n, err := strconv.Atoi(string(a))
		if err != nil {
			return &Error{"ERR", "Protocol version is not an integer or out of range"}
		}
		if n != 2 && n != 3 {
			return &Error{"NOPROTO", "unsupported protocol version"}
		}
		proto = n
	}
	var user, pass, name []byte
	setName := false
	for cur.More() {
		opt, _ := cur.Next()
		switch {
		case Is(opt, "auth") && len(cur.Rest()) >= 2:
			user, _ = cur.Next()
			pass, _ = cur.Next()
		case Is(opt, "setname") && len(cur.Rest()) >= 1:
			name, _ = cur.Next()
			setName = true
		default:
			return Errf("Syntax error in HELLO option '%s'", opt)
		}
	}
	if pass != nil {
		if err := c.Server.Auth(c, string(user), string(pass)); err != nil {
			return err
		}
	}
	if setName {
		if err := ValidateClientName(name); err != nil {
			return err
		}
	}
	if !c.Client.Authenticated {
		return &Error{"NOAUTH", "HELLO must be called with the client already authenticated, otherwise the HELLO AUTH <user> <pass> option can be used to authenticate the client and select the RESP protocol version at the same time"}
	}
	if setName {
		c.Client.Name = string(name)
	}
	return c.Server.Hello(c, proto)
}

func auth(c *Ctx) error {
	switch len(c.Args) {
	case 2:
		return c.authReply(c.Server.Auth(c, "", string(c.Args[1])))
	case 3:
		return c.authReply(c.Server.Auth(c, string(c.Args[1]), string(c.Args[2])))
	}
	return ErrSyntax
}

func (c *Ctx) authReply(err error) error {
	if err != nil {
		return err
	}
	c.Out.OK()
	return nil
}

// ValidateClientName refuses names with spaces or special characters, as
// CLIENT SETNAME does.
func ValidateClientName(name []byte) error {
	for _, ch := range name {
		if ch < '!' || ch > '~' {
			return &Error{"ERR", "Client names cannot contain spaces, newlines or special characters."}
		}
	}
	return nil
}
