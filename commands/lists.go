package commands

// listCommands returns the lists command group.
func listCommands() []*Command { return nil }
