package journal

import (
	"context"
	"errors"
	"runtime"
	"sync"
)

// maxGroup bounds how many appends share one commit.
const maxGroup = 256

// appendReq is one queued append.
type appendReq struct {
	entry Entry
	// payload and codec are the stored form of entry's payload where the
	// journal encodes it (SQLite), computed on the caller's goroutine.
	payload []byte
	codec   string
	res     AppendResult
	err     error
	// committed is done when res and err are set (a WaitGroup rather
	// than a channel: no allocation of its own).
	committed sync.WaitGroup
}

// committer is the group commit both journals share: appends queue, one
// goroutine takes whatever is queued (up to maxGroup) and commits it as one
// transaction, and each caller waits for its own outcome.
type committer struct {
	appends chan *appendReq
	done    chan struct{}
	// commit writes a group, setting each request's res and err.
	commit func(batch []*appendReq)
	// mu guards closed: append sends under the read lock, close closes
	// the queue under the write lock, so a late append fails instead of
	// sending on a closed channel.
	mu     sync.RWMutex
	closed bool
}

// newCommitter starts the writer goroutine.
func newCommitter(commit func(batch []*appendReq)) *committer {
	c := &committer{appends: make(chan *appendReq, maxGroup), done: make(chan struct{}), commit: commit}
	go c.writer()
	return c
}

// append queues r and waits for its commit. Once queued, the append is
// committed whatever the caller does: it waits for the outcome so that a
// 2xx is never sent for an unwritten entry.
func (c *committer) append(ctx context.Context, r *appendReq) (AppendResult, error) {
	r.committed.Add(1)
	c.mu.RLock()
	if c.closed {
		c.mu.RUnlock()
		return AppendResult{}, errors.New("journal: closed")
	}
	select {
	case c.appends <- r:
	case <-ctx.Done():
		c.mu.RUnlock()
		return AppendResult{}, ctx.Err()
	}
	c.mu.RUnlock()
	r.committed.Wait()
	return r.res, r.err
}

func (c *committer) writer() {
	defer close(c.done)
	batch := make([]*appendReq, 0, maxGroup)
	for first := range c.appends {
		batch = append(batch[:0], first)
	fill:
		for len(batch) < maxGroup {
			select {
			case r, ok := <-c.appends:
				if !ok {
					break fill
				}
				batch = append(batch, r)
			default:
				break fill
			}
		}
		c.commit(batch)
		for _, r := range batch {
			r.committed.Done()
		}
		// The callers just woken wait in this goroutine's run queue, and
		// without a yield they would stay there while the next group is
		// written, until its fsync blocks: yielding lets them answer now
		// (measured at c=64, 22 KB: wake-up 2.5 -> 1.5 ms, groups 12 ->
		// 19 rows, +14% requests/s over seven alternated runs).
		runtime.Gosched()
	}
}

// close stops taking appends and waits until the queued ones are
// committed.
func (c *committer) close() {
	c.mu.Lock()
	if !c.closed {
		c.closed = true
		close(c.appends)
	}
	c.mu.Unlock()
	<-c.done
}
