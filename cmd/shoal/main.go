// Command shoal runs a Shoal server:
//
//	shoal [path/to/redis.conf] [--port N] [--bind ADDR] [--dir PATH] ...
//
// Every --name value flag is a redis.conf directive of the same name.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/shoaldb/shoal/config"
	"github.com/shoaldb/shoal/server"
)

func main() {
	if len(os.Args) > 1 && (os.Args[1] == "-v" || os.Args[1] == "--version") {
		fmt.Printf("Shoal server v=%s redis=%s\n", server.Version, server.RedisVersion)
		return
	}
	if len(os.Args) > 1 && (os.Args[1] == "-h" || os.Args[1] == "--help") {
		fmt.Println("Usage: shoal [/path/to/redis.conf] [--directive value ...]")
		fmt.Println("Examples: shoal --port 7000 --dir ./data7000 --appendfsync always")
		return
	}
	cfg, err := config.Load(os.Args[1:])
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	srv, err := server.New(cfg, server.Options{})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := srv.Run(ctx); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}
