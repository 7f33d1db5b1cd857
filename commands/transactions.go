package commands

func transactionCommands() []*Command {
	tx := func(name string, arity int, flags Flags, summary, since string, h func(*Ctx) error) *Command {
		return &Command{Name: name, Arity: arity, Flags: flags | NoScript | Loading | Stale | Fast | AllowBusy | MultiCtl,
			ACL: []string{"fast", "transaction"}, Group: "transactions", Summary: summary, Since: since, Complexity: "O(1)", Handler: h}
	}
	watch := tx("watch", -2, NoScript, "Monitors changes to keys to determine the execution of a transaction.", "2.2.0",
		func(c *Ctx) error { return c.Server.Watch(c, c.Args[1:]) })
	watch.FirstKey, watch.LastKey, watch.Step = 1, -1, 1
	exec := tx("exec", 1, 0, "Executes all commands in a transaction.", "1.2.0", func(c *Ctx) error { return c.Server.Exec(c) })
	exec.Flags = exec.Flags&^(Fast|AllowBusy) | SkipSlowlog
	exec.ACL = []string{"slow", "transaction"}
	exec.Complexity = "Depends on commands in the transaction"
	return []*Command{
		tx("multi", 1, 0, "Starts a transaction.", "1.2.0", func(c *Ctx) error { return c.Server.Multi(c) }),
		exec,
		tx("discard", 1, 0, "Discards a transaction.", "2.0.0", func(c *Ctx) error { return c.Server.Discard(c) }),
		watch,
		tx("unwatch", 1, 0, "Forgets about watched keys of a transaction.", "2.2.0", func(c *Ctx) error { return c.Server.Unwatch(c) }),
	}
}
