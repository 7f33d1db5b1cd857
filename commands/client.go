package commands

import "strings"

// clientCommand is CLIENT and its subcommands. Those that need the list of
// connections or the pause state go to the server; the rest change only
// the calling connection.
func clientCommand() *Command {
	sub := func(name string, arity int, flags Flags, summary string, h func(*Ctx) error) *Command {
		acl := []string{"slow", "connection"}
		if flags.Has(Admin) {
			acl = []string{"admin", "slow", "dangerous", "connection"}
		}
		return &Command{Name: "client|" + name, Arity: arity, Flags: flags | NoScript | Loading | Stale | MaintenanceOK,
			ACL: acl, Group: "connection", Summary: summary, Since: "2.4.0", Complexity: "O(1)", Handler: h}
	}
	toServer := func(c *Ctx) error { return c.Server.ClientCmd(c) }
	client := &Command{Name: "client", Arity: -2, Flags: MaintenanceOK, ACL: []string{"slow"},
		Group: "connection", Summary: "A container for client connection commands.", Since: "2.4.0", Complexity: "Depends on subcommand.",
		Subcommands: []*Command{
			sub("id", 2, 0, "Returns the unique client ID of the connection.", func(c *Ctx) error { c.Out.Int(c.Client.ID); return nil }),
			sub("getname", 2, 0, "Returns the name of the connection.", func(c *Ctx) error {
				if c.Client.Name == "" {
					c.Out.Null()
				} else {
					c.Out.BulkString(c.Client.Name)
				}
				return nil
			}),
			sub("setname", 3, 0, "Sets the connection name.", func(c *Ctx) error {
				if err := ValidateClientName(c.Args[2]); err != nil {
					return err
				}
				c.Client.Name = string(c.Args[2])
				c.Out.OK()
				return nil
			}),
			sub("setinfo", 4, 0, "Sets information specific to the client or connection.", func(c *Ctx) error {
				val := string(c.Args[3])
				switch {
				case Is(c.Args[2], "lib-name"):
					if strings.ContainsAny(val, " \n") {
						return Errf("%s cannot contain spaces, newlines or special characters.", "lib-name")
					}
					c.Client.LibName = val
				case Is(c.Args[2], "lib-ver"):
					if strings.ContainsAny(val, " \n") {
						return Errf("%s cannot contain spaces, newlines or special characters.", "lib-ver")
					}
					c.Client.LibVer = val
				default:
					return Errf("Unrecognized option '%s'", c.Args[2])
				}
				c.Out.OK()
				return nil
			}),
			sub("reply", 3, 0, "Instructs the server whether to reply to commands.", func(c *Ctx) error {
				switch {
				case Is(c.Args[2], "on"):
					// NB: as in Redis, ON answers even after OFF or SKIP.
					c.Client.ReplyOff, c.Client.ReplySkip = false, false
					c.Out.Discard = false
					c.Out.OK()
				case Is(c.Args[2], "off"):
					c.Client.ReplyOff = true
				case Is(c.Args[2], "skip"):
					c.Client.ReplySkip = true
				default:
					return ErrSyntax
				}
				return nil
			}),
			sub("no-evict", 3, Admin, "Sets the client eviction mode of the connection.", func(c *Ctx) error {
				return onOff(c, &c.Client.NoEvict)
			}),
			sub("no-touch", 3, 0, "Controls whether commands sent by the client affect the LRU/LFU of accessed keys.", func(c *Ctx) error {
				return onOff(c, &c.Client.NoTouch)
			}),
			sub("list", -2, Admin, "Lists open connections.", toServer),
			sub("info", 2, 0, "Returns information about the connection.", toServer),
			sub("kill", -3, Admin, "Terminates open connections.", toServer),
			sub("pause", -3, Admin, "Suspends commands processing.", toServer),
			sub("unpause", 2, Admin, "Resumes processing commands from paused clients.", toServer),
			sub("unblock", -3, Admin, "Unblocks a client blocked by a blocking command from a different connection.", func(c *Ctx) error {
				if len(c.Args) > 4 {
					return ErrSubcommandSyntax(c)
				}
				if len(c.Args) == 4 && !Is(c.Args[3], "timeout") && !Is(c.Args[3], "error") {
					return Errf("CLIENT UNBLOCK reason should be TIMEOUT or ERROR")
				}
				if _, err := ParseInt(c.Args[2]); err != nil {
					return err
				}
				return c.Server.ClientCmd(c)
			}),
			sub("tracking", -3, 0, "Controls server-assisted client-side caching for the connection.", toServer),
			sub("caching", 3, 0, "Instructs the server whether to track the keys in the next request.", toServer),
			sub("getredir", 2, 0, "Returns the client ID to which the connection's tracking notifications are redirected.", toServer),
			sub("trackinginfo", 2, 0, "Returns information about server-assisted client-side caching for the connection.", toServer),
			sub("help", 2, 0, "Returns helpful text about the different subcommands.", func(c *Ctx) error {
				c.Out.StringArray([]string{
					"CLIENT <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
					"ID", "    Return the ID of the current connection.",
					"INFO", "    Return information about the current client connection.",
					"GETNAME", "    Return the name of the current connection.",
					"KILL <ip:port>", "    Kill connection made from <ip:port>.",
					"KILL <option> <value> [<option> <value> [...]]", "    Kill connections. Options are: ID, ADDR, LADDR, USER, SKIPME, MAXAGE.",
					"LIST [TYPE (NORMAL|MASTER|REPLICA|PUBSUB)] [ID <id> [<id> ...]]", "    Return information about client connections.",
					"NO-EVICT (ON|OFF)", "    Protect current client connection from eviction.",
					"NO-TOUCH (ON|OFF)", "    Will not touch LRU/LFU stats when this mode is on.",
					"PAUSE <timeout> [WRITE|ALL]", "    Suspend all, or just write, clients for <timeout> milliseconds.",
					"REPLY (ON|OFF|SKIP)", "    Control the replies sent to the current connection.",
					"SETNAME <name>", "    Assign the name <name> to the current connection.",
					"SETINFO <option> <value>", "    Set client meta attr. Options are: LIB-NAME, LIB-VER.",
					"UNBLOCK <clientid> [TIMEOUT|ERROR]", "    Unblock the specified blocked client.",
					"UNPAUSE", "    Stop the current client pause, resuming traffic.",
					"HELP", "    Print this help.",
				})
				return nil
			}),
		},
	}
	// NB: as in Redis, scripts may call CLIENT HELP, and no other CLIENT
	// subcommand.
	client.Subcommands[len(client.Subcommands)-1].Flags &^= NoScript
	return client
}

func onOff(c *Ctx, dst *bool) error {
	switch {
	case Is(c.Args[2], "on"):
		*dst = true
	case Is(c.Args[2], "off"):
		*dst = false
	default:
		return ErrSyntax
	}
	c.Out.OK()
	return nil
}
