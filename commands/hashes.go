package commands

// hashCommands returns the hashes command group.
func hashCommands() []*Command { return nil }
