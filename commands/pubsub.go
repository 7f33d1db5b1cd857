package commands

// pubsubCommands returns the pubsub command group. Subscriptions live with
// the connections, so the handlers hand over to the server. The
// SubscriberOK flag marks what a RESP2 subscriber may run; PUBLISH and
// PUBSUB are not among them.
func pubsubCommands() []*Command {
	toServer := func(c *Ctx) error { return c.Server.Pubsub(c) }
	sub := func(name string, arity int, flags Flags, acl []string, summary, since, complexity string, h func(*Ctx) error) *Command {
		return &Command{Name: "pubsub|" + name, Arity: arity, Flags: flags | Loading | Stale, ACL: acl,
			Group: "pubsub", Summary: summary, Since: since, Complexity: complexity, Handler: h}
	}
	return []*Command{
		{Name: "subscribe", Arity: -2, Flags: PubSub | SubscriberOK | NoScript | Loading | Stale, ACL: []string{"pubsub", "slow"},
			Group: "pubsub", Summary: "Listen for messages published to the given channels", Since: "2.0.0",
			Complexity: "O(N) where N is the number of channels to subscribe to.", Handler: toServer},
		{Name: "unsubscribe", Arity: -1, Flags: PubSub | SubscriberOK | NoScript | Loading | Stale, ACL: []string{"pubsub", "slow"},
			Group: "pubsub", Summary: "Stop listening for messages posted to the given channels", Since: "2.0.0",
			Complexity: "O(N) where N is the number of clients already subscribed to a channel.", Handler: toServer},
		{Name: "psubscribe", Arity: -2, Flags: PubSub | SubscriberOK | NoScript | Loading | Stale, ACL: []string{"pubsub", "slow"},
			Group: "pubsub", Summary: "Listen for messages published to channels matching the given patterns", Since: "2.0.0",
			Complexity: "O(N) where N is the number of patterns the client is already subscribed to.", Handler: toServer},
		{Name: "punsubscribe", Arity: -1, Flags: PubSub | SubscriberOK | NoScript | Loading | Stale, ACL: []string{"pubsub", "slow"},
			Group: "pubsub", Summary: "Stop listening for messages posted to channels matching the given patterns", Since: "2.0.0",
			Complexity: "O(N+M) where N is the number of patterns the client is already subscribed and M is the number of total patterns subscribed in the system (by any client).", Handler: toServer},
		{Name: "ssubscribe", Arity: -2, Flags: PubSub | SubscriberOK | NoScript | Loading | Stale, FirstKey: 1, LastKey: -1, Step: 1, ACL: []string{"pubsub", "slow"},
			Group: "pubsub", Summary: "Listen for messages published to the given shard channels", Since: "7.0.0",
			Complexity: "O(N) where N is the number of shard channels to subscribe to.", Handler: toServer},
		{Name: "sunsubscribe", Arity: -1, Flags: PubSub | SubscriberOK | NoScript | Loading | Stale, FirstKey: 1, LastKey: -1, Step: 1, ACL: []string{"pubsub", "slow"},
			Group: "pubsub", Summary: "Stop listening for messages posted to the given shard channels", Since: "7.0.0",
			Complexity: "O(N) where N is the number of clients already subscribed to a shard channel.", Handler: toServer},
		{Name: "spublish", Arity: 3, Flags: PubSub | Loading | Stale | Fast | MayReplicate, FirstKey: 1, LastKey: 1, Step: 1, ACL: []string{"pubsub", "fast"},
			Group: "pubsub", Summary: "Post a message to a shard channel", Since: "7.0.0",
			Complexity: "O(N) where N is the number of clients subscribed to the receiving shard channel.", Handler: toServer},
		{Name: "publish", Arity: 3, Flags: PubSub | Loading | Stale | Fast | MayReplicate, ACL: []string{"pubsub", "fast"},
			Group: "pubsub", Summary: "Post a message to a channel", Since: "2.0.0",
			Complexity: "O(N+M) where N is the number of clients subscribed to the receiving channel and M is the total number of subscribed patterns (by any client).",
			Handler:    toServer},
		{Name: "pubsub", Arity: -2, ACL: []string{"slow"},
			Group: "pubsub", Summary: "A container for Pub/Sub commands", Since: "2.8.0", Complexity: "Depends on subcommand.",
			Subcommands: []*Command{
				sub("channels", -2, PubSub, []string{"pubsub", "slow"}, "List active channels", "2.8.0",
					"O(N) where N is the number of active channels, and assuming constant time pattern matching (relatively short channels and patterns)", toServer),
				sub("numsub", -2, PubSub, []string{"pubsub", "slow"}, "Get the count of subscribers for channels", "2.8.0",
					"O(N) for the NUMSUB subcommand, where N is the number of requested channels", toServer),
				sub("numpat", 2, PubSub, []string{"pubsub", "slow"}, "Get the count of unique patterns pattern subscriptions", "2.8.0", "O(1)", toServer),
				sub("shardchannels", -2, PubSub, []string{"pubsub", "slow"}, "List active shard channels", "7.0.0",
					"O(N) where N is the number of active shard channels, and assuming constant time pattern matching (relatively short shard channels).", toServer),
				sub("shardnumsub", -2, PubSub, []string{"pubsub", "slow"}, "Get the count of subscribers for shard channels", "7.0.0",
					"O(N) for the SHARDNUMSUB subcommand, where N is the number of requested shard channels", toServer),
				sub("help", 2, 0, []string{"slow"}, "Show helpful text about the different subcommands", "6.2.0", "O(1)", pubsubHelp),
			}},
	}
}

func pubsubHelp(c *Ctx) error {
	lines := []string{
		"PUBSUB <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
		"CHANNELS [<pattern>]",
		"    Return the currently active channels matching a <pattern> (default: '*').",
		"NUMPAT",
		"    Return number of subscriptions to patterns.",
		"NUMSUB [<channel> ...]",
		"    Return the number of subscribers for the specified channels, excluding",
		"    pattern subscriptions(default: no channels).",
		"SHARDCHANNELS [<pattern>]",
		"    Return the currently active shard level channels matching a <pattern> (default: '*').",
		"SHARDNUMSUB [<shardchannel> ...]",
		"    Return the number of subscribers for the specified shard level channel(s)",
		"HELP",
		"    Prints this help.",
	}
	c.Out.Array(len(lines))
	for _, l := range lines {
		c.Out.Simple(l)
	}
	return nil
}
