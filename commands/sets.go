package commands

// setCommands returns the sets command group.
func setCommands() []*Command { return nil }
