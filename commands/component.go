package commands

// componentCommands are the COMPONENT commands.
func componentCommands() []*Command { return nil }
