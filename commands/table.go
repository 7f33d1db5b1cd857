package commands

// Default returns the table of every command Shoal serves. Each group file
// contributes one function; this list is the only place they are joined.
func Default() *Table {
	t := NewTable(
		connectionCommands(),
		stringCommands(),
		keyCommands(),
		transactionCommands(),
		serverCommands(),
		hashCommands(),
		listCommands(),
		setCommands(),
		zsetCommands(),
		streamCommands(),
		geoCommands(),
		bitmapCommands(),
		hyperloglogCommands(),
		pubsubCommands(),
		sortCommands(),
		scriptingCommands(),
		replicationCommands(),
		maintenanceCommands(),
		componentCommands(),
		schemaCommands(),
		clusterCommands(),
	)
	attachMeta(t)
	return t
}
