package transport

import (
	"errors"

	"github.com/sluicehq/sluice/limiter"
)

// localRefusal reports whether err is a layer of this stack refusing a call
// before anything reached the network: an open breaker (*BreakerOpenError:
// fail-fast, a deadline too short to wait for the next probe, or a wait the
// caller's context ended), or the limiter (ErrQueueFull, *WaitError — the
// wait would outlast the deadline —, ErrExceedsCapacity, ErrClosed).
//
// It is the one classification the layers share: the retry layer returns
// such an error at once, without a retry (another attempt would be refused
// the same way, and its backoff only delays the caller's answer), and the
// breaker does not count it (it says nothing of the API). A call that is
// still waiting for a breaker or a limiter slot is not refused: it waits,
// within its deadline.
func localRefusal(err error) bool {
	if err == nil {
		return false
	}
	var boe *BreakerOpenError
	return errors.As(err, &boe) || errors.Is(err, ErrBreakerOpen) ||
		errors.Is(err, limiter.ErrQueueFull) || errors.Is(err, limiter.ErrWouldExceedDeadline) ||
		errors.Is(err, limiter.ErrExceedsCapacity) || errors.Is(err, limiter.ErrClosed)
}
