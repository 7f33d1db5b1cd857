package commands

// bitmapCommands returns the bitmaps command group.
func bitmapCommands() []*Command { return nil }
