package commands

// pubsubCommands returns the pubsub command group.
func pubsubCommands() []*Command { return nil }
