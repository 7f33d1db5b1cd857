package commands

// sortCommands returns the sort command group.
func sortCommands() []*Command { return nil }
