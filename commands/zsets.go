package commands

// zsetCommands returns the zsets command group.
func zsetCommands() []*Command { return nil }
