package commands

// maintenanceCommands are the MAINTENANCE commands.
func maintenanceCommands() []*Command { return nil }
