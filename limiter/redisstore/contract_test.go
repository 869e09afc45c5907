package redisstore_test

import (
	"testing"
	"time"

	"github.com/sluicehq/sluice/limiter"
	"github.com/sluicehq/sluice/limiter/redisstore"
	"github.com/sluicehq/sluice/limiter/redisstore/redistest"
	"github.com/sluicehq/sluice/limiter/storetest"
)

// The Redis store keeps the limiter.Store contract as MemoryStore does,
// with the shortest TTL it allows, so that a key expiring too early shows.
// The contract is shared mode's: a timeout far above any round trip keeps
// a loaded machine from switching the store to its local fallback.
func TestStoreContract(t *testing.T) {
	rdb := newClient(t, redistest.Start(t))
	storetest.Run(t, func(t *testing.T) limiter.Store {
		return newStore(t, rdb, redisstore.WithTTL(1), redisstore.WithTimeout(10*time.Second))
	})
}
