package server

import (
	"github.com/shoaldb/shoal/commands"
)

// subscribed reports whether the connection is in subscriber mode.
func (c *conn) subscribed() bool { return false }

// isSubscriber is subscribed for other goroutines.
func (c *conn) isSubscriber() bool { return false }

func (s *Server) unsubscribeAll(c *conn) {}

// Pubsub runs SUBSCRIBE and friends.
func (s *Server) Pubsub(c *commands.Ctx) error { return commands.Errf("pub/sub is not available yet") }

// Publish delivers a message to subscribers.
func (s *Server) Publish(channel, message []byte) int64 { return 0 }
