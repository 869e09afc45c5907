package bench

import (
	"time"

	"github.com/sluicehq/sluice/transport"
)

// sluiceWindow tells sluice's limiter the quota window of the fake.
func sluiceWindow(w time.Duration) transport.Option {
	return transport.WithWindow(w)
}
