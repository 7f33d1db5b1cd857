package server

// Version is Shoal's version; set at build time with
// -ldflags "-X github.com/shoaldb/shoal/server.Version=...".
var Version = "0.1.0"

// RedisVersion is the Redis version whose commands and replies Shoal
// follows; INFO and HELLO report it as redis_version so clients enable the
// features they would with that Redis.
const RedisVersion = "7.2.4"
