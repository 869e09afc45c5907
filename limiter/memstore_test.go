package limiter_test

import (
	"testing"

	"github.com/sluicehq/sluice/limiter"
	"github.com/sluicehq/sluice/limiter/storetest"
)

func TestMemoryStoreContract(t *testing.T) {
	storetest.Run(t, func(*testing.T) limiter.Store { return limiter.NewMemoryStore() })
}
