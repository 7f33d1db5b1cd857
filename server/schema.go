package server

import (
	"time"

	"github.com/shoaldb/shoal/cluster"
	"github.com/shoaldb/shoal/config"
)

// schemaConfig is the schema pipeline's part of the configuration.
func schemaConfig(cfg *config.Config) cluster.SchemaConfig {
	return cluster.SchemaConfig{
		RetryBase:      time.Duration(cfg.SchemaRetryBaseMs) * time.Millisecond,
		MaxRetries:     cfg.SchemaEventMaxRetries,
		ResyncInterval: time.Duration(cfg.SchemaResyncInterval) * time.Millisecond,
	}
}
