package server

import "github.com/shoaldb/shoal/commands"

// Version is Shoal's version; set at build time with
// -ldflags "-X github.com/shoaldb/shoal/server.Version=...".
var Version = "0.1.0"

// RedisVersion is the Redis version whose commands and replies Shoal
// follows (commands.RedisVersion).
const RedisVersion = commands.RedisVersion
