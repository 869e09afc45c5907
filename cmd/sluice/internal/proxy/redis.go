package proxy

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/sluicehq/sluice/limiter/redisstore"
	"github.com/sluicehq/sluice/telemetry"
)

// redisOptions reads --redis: a host:port, or a redis:// or rediss:// URL
// (which may carry a password: it is never logged).
func redisOptions(addr string) (*redis.Options, error) {
	if strings.Contains(addr, "://") {
		o, err := redis.ParseURL(addr)
		if err != nil {
			// The error may quote the URL, and the URL a password.
			return nil, errors.New("--redis: not a valid redis:// or rediss:// URL")
		}
		o.ContextTimeoutEnabled = true
		return o, nil
	}
	return &redis.Options{Addr: addr, ContextTimeoutEnabled: true}, nil
}

// sharedStore is the Redis store the proxies of a fleet share.
type sharedStore struct {
	rdb   *redis.Client
	store *redisstore.Store
}

func openStore(c Config, logger *slog.Logger, tel []telemetry.Option) (*sharedStore, error) {
	o, err := redisOptions(c.Redis)
	if err != nil {
		return nil, err
	}
	rdb := redis.NewClient(o)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	if err := rdb.Ping(ctx).Err(); err != nil {
		// Not fatal: the store runs on local limits until Redis answers.
		logger.Warn("redis not reachable at start; local limits until it answers", "redis", o.Addr, "error", err.Error())
	}
	st := redisstore.New(rdb, redisstore.WithReplicas(c.Replicas),
		redisstore.WithLogger(logger), redisstore.WithTelemetry(tel...))
	return &sharedStore{rdb: rdb, store: st}, nil
}

func (s *sharedStore) Close() error {
	if s == nil {
		return nil
	}
	s.store.Close()
	return s.rdb.Close()
}
