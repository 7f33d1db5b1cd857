package commands

// hyperloglogCommands returns the hyperloglog command group.
func hyperloglogCommands() []*Command { return nil }
