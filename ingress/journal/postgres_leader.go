package journal

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"sync"
	"time"
)

// Leader is implemented by journals that several processes share (the
// PostgreSQL journal), so that exactly one of them forwards at a time: per
// workflow order holds only if one forwarder reads the journal. A journal
// that does not implement it (SQLite) belongs to one process, which may
// forward at once.
//
// The contract:
//   - Lead blocks until this process holds leadership, and returns a
//     channel that is closed when leadership is lost or released, and a
//     release function. It retries a broken database connection by
//     itself; it returns an error only when ctx is done or the journal is
//     closed. ctx bounds the wait only, not the leadership.
//   - The caller forwards while lost is open, stops as soon as it is
//     closed, then calls release and Lead again. release is idempotent,
//     must always be called, and closes lost.
//   - Leadership is lost when the session that holds it ends: the process
//     dies (released at once), the connection breaks or the server ends
//     it. The holder notices within about a second; another process may
//     already lead by then, so for that moment two forwarders can overlap.
//     Both send entries oldest first and workflows drop delivery IDs they
//     have seen, so an overlap can repeat a signal but neither lose one nor
//     reorder first deliveries.
//   - Closing the journal releases leadership.
type Leader interface {
	Lead(ctx context.Context) (lost <-chan struct{}, release func(), err error)
}

var _ Leader = (*Postgres)(nil)

// releaser is a lease Close gives up.
type releaser interface{ release() }

// lease is held forwarding leadership: a session holding the advisory lock.
type lease struct {
	j       *Postgres
	conn    *sql.Conn
	lost    chan struct{}
	stop    chan struct{}
	stopped chan struct{}
	once    sync.Once
}

// Lead implements Leader with a session-level advisory lock (keyed by the
// schema; see ingress/postgres.LockKey) held on a connection of its own.
func (j *Postgres) Lead(ctx context.Context) (<-chan struct{}, func(), error) {
	var conn *sql.Conn
	defer func() {
		if conn != nil {
			discard(conn)
		}
	}()
	for {
		if j.isClosed() {
			return nil, nil, errors.New("journal: closed")
		}
		if conn == nil {
			if c, err := j.db.Conn(ctx); err == nil {
				conn = c
				j.prepareSession(ctx, conn)
			}
		}
		if conn != nil {
			var ok bool
			err := conn.QueryRowContext(ctx, `SELECT pg_try_advisory_lock($1)`, j.leaderKey).Scan(&ok)
			switch {
			case err != nil:
				// The lock may have been taken before the error: end the
				// session, which drops it.
				discard(conn)
				conn = nil
			case ok:
				l := &lease{j: j, conn: conn, lost: make(chan struct{}), stop: make(chan struct{}), stopped: make(chan struct{})}
				j.mu.Lock()
				if j.closed {
					j.mu.Unlock()
					return nil, nil, errors.New("journal: closed")
				}
				j.leases[l] = struct{}{}
				j.mu.Unlock()
				conn = nil
				go l.watch()
				return l.lost, l.release, nil
			}
		}
		select {
		case <-ctx.Done():
			return nil, nil, fmt.Errorf("journal: waiting for leadership: %w", ctx.Err())
		case <-time.After(j.leaderPoll):
		}
	}
}

// prepareSession makes the server end the leadership session when it
// stops hearing from it (the holder's machine froze or is cut off): the
// holder pings every leaderPoll, so a silence of several polls means it
// is gone, and the lock must not stay held until TCP keepalives notice.
// idle_session_timeout needs PostgreSQL 14; older servers only lose the
// lock when the connection is seen to break.
func (j *Postgres) prepareSession(ctx context.Context, conn *sql.Conn) {
	timeout := max(5*j.leaderPoll, 5*time.Second)
	_, _ = conn.ExecContext(ctx, fmt.Sprintf(`SET idle_session_timeout = %d`, timeout.Milliseconds()))
}

// watch pings the session that holds the lock: while it answers, the lock
// is held.
func (l *lease) watch() {
	defer close(l.stopped)
	t := time.NewTicker(l.j.leaderPoll)
	defer t.Stop()
	for {
		select {
		case <-l.stop:
			return
		case <-t.C:
		}
		ctx, cancel := context.WithTimeout(context.Background(), l.j.leaderPoll)
		err := l.conn.PingContext(ctx)
		cancel()
		if err != nil {
			l.end()
			return
		}
	}
}

func (l *lease) release() {
	l.once.Do(func() { close(l.stop) })
	<-l.stopped
	l.end()
}

// end closes lost and the session, which releases the lock on the server.
func (l *lease) end() {
	l.j.mu.Lock()
	_, held := l.j.leases[l]
	delete(l.j.leases, l)
	l.j.mu.Unlock()
	if held {
		close(l.lost)
		discard(l.conn)
	}
}

func (j *Postgres) isClosed() bool {
	j.mu.Lock()
	defer j.mu.Unlock()
	return j.closed
}

// discard closes conn's session instead of returning it to the pool: a
// pooled session would keep its advisory lock.
func discard(conn *sql.Conn) {
	_ = conn.Raw(func(any) error { return driver.ErrBadConn })
	_ = conn.Close()
}
