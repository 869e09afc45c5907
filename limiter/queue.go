package limiter

// waiter is one queued acquire. It is embedded in its Reservation so that
// queueing costs no allocation beyond the ready channel.
type waiter struct {
	prev, next *waiter
	ready      chan struct{} // closed when the waiter becomes the head
	cost       Cost
	prio       Priority
	state      uint8  // waitQueued, waitPromoted or waitGone
	reason     Reason // what the head was waiting for at promotion
}

const (
	waitQueued uint8 = iota
	waitPromoted
	waitGone
)

// waitList is an intrusive doubly linked FIFO: O(1) push, pop and removal
// of a cancelled waiter from anywhere in it.
type waitList struct{ head, tail *waiter }

func (q *waitList) push(w *waiter) {
	w.prev, w.next = q.tail, nil
	if q.tail != nil {
		q.tail.next = w
	} else {
		q.head = w
	}
	q.tail = w
}

func (q *waitList) remove(w *waiter) {
	if w.prev != nil {
		w.prev.next = w.next
	} else {
		q.head = w.next
	}
	if w.next != nil {
		w.next.prev = w.prev
	} else {
		q.tail = w.prev
	}
	w.prev, w.next = nil, nil
}

func (q *waitList) pop() *waiter {
	w := q.head
	if w != nil {
		q.remove(w)
	}
	return w
}

func (q *waitList) pushFront(w *waiter) {
	w.prev, w.next = nil, q.head
	if q.head != nil {
		q.head.prev = w
	} else {
		q.tail = w
	}
	q.head = w
}
