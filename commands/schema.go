package commands

// schemaCommands are the SCHEMA commands.
func schemaCommands() []*Command { return nil }
