package commands

// moduleCommand is MODULE as a Redis 7.0 without modules answers it:
// LIST is empty, and LOAD and LOADEX, which enable-module-command gates
// as Redis does, fail to load, since Shoal runs no module code.
func moduleCommand() *Command {
	admin := []string{"admin", "slow", "dangerous"}
	loading := Admin | NoScript | NoAsyncLoading | Protected
	failLoad := func(c *Ctx) error {
		c.Store.Log().Warn("Module failed to load: Shoal runs no modules", "path", string(c.Args[2]))
		return Errf("Error loading the extension. Please check the server logs.")
	}
	return &Command{Name: "module", Arity: -2, ACL: []string{"slow"}, Group: "server",
		Summary: "A container for module commands", Since: "4.0.0", Complexity: "Depends on subcommand.",
		Subcommands: []*Command{
			serverSub("module", "list", 2, Admin|NoScript, admin, "server", "List all modules loaded by the server", "4.0.0",
				"O(N) where N is the number of loaded modules.", func(c *Ctx) error {
					c.Out.Array(0)
					return nil
				}),
			serverSub("module", "load", -3, loading, admin, "server", "Load a module", "4.0.0", "O(1)", failLoad),
			serverSub("module", "loadex", -3, loading, admin, "server", "Load a module with extended parameters", "7.0.0", "O(1)", failLoad),
			serverSub("module", "unload", 3, loading, admin, "server", "Unload a module", "4.0.0", "O(1)", func(c *Ctx) error {
				return Errf("Error unloading module: no such module with that name")
			}),
			containerHelp("module", "server", "5.0.0", []string{"slow"},
				"LIST", "    Return a list of loaded modules.",
				"LOAD <path> [<arg> ...]", "    Load a module library from <path>, passing to it any optional arguments.",
				"LOADEX <path> [[CONFIG NAME VALUE] [CONFIG NAME VALUE]] [ARGS ...]",
				"    Load a module library from <path>, while passing it module configurations and optional arguments.",
				"UNLOAD <name>", "    Unload a module."),
		}}
}
