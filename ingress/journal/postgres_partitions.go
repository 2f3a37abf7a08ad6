package journal

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/hookflow/hookflow/ingress/postgres"
)

// Partitioner is implemented by journals that several processes share (the
// PostgreSQL journal), so that they forward in parallel: the Partitions
// partitions are split among the processes that forward, each partition
// leased by one process at a time. A workflow is in one partition, so order
// per workflow holds as long as one forwarder reads each partition. A
// journal that implements neither Partitioner nor Leader belongs to one
// process, which forwards every partition.
//
// The contract:
//   - LeasePartitions joins the split and returns a lease; it retries a
//     broken database connection by itself and returns an error only when
//     ctx is done or the journal is closed. The lease may hold no partition
//     at first.
//   - The lease takes free partitions in the background, up to its fair
//     share (Partitions divided by the processes holding a lease, rounded
//     up). Partitions beyond the share (another process joined) are given
//     up only when the caller calls Partitions, which it does between
//     rounds, with no signal of those partitions in flight.
//   - A lease is lost when its database session ends: the process dies
//     (its partitions are free at once), the connection breaks, or the
//     server stops hearing from it (PartitionLeaseBound). The holder
//     notices within one poll (a second) and closes Lost; the caller stops
//     forwarding and takes a new lease. For that moment two forwarders can
//     overlap on a partition: both send oldest first and workflows drop
//     delivery IDs they have seen, so an overlap can repeat a signal but
//     neither lose one nor reorder first deliveries.
type Partitioner interface {
	LeasePartitions(ctx context.Context) (PartitionLease, error)
}

// PartitionLease is one process's share of the partitions.
type PartitionLease interface {
	// Partitions gives up the partitions held beyond the fair share and
	// returns the ones held, ascending. Call it only with no round in
	// flight.
	Partitions() []int
	// Lost is closed when the lease is lost or released.
	Lost() <-chan struct{}
	// Release gives every partition up and closes Lost. It is idempotent.
	Release()
}

// PartitionLeaseBound is how long, at most, the partitions of a replica
// that froze or was cut off stay leased before another replica takes them
// (the server ends a session it has not heard from for five polls, and the
// others look for free partitions every poll); a replica that dies frees
// them at once, taken within one poll.
const PartitionLeaseBound = 6 * time.Second

// memberLock is the second key of the shared advisory lock every lease
// holds while it takes part in the split; partition p is locked
// exclusively with second key p.
const memberLock = Partitions

var _ Partitioner = (*Postgres)(nil)

// pgLease is a lease held by one session's advisory locks (the two-key
// form: the schema's partition key, then the partition number).
type pgLease struct {
	j    *Postgres
	key  int32
	lost chan struct{}
	stop chan struct{}
	done chan struct{}
	once sync.Once

	mu     sync.Mutex // guards conn, held, excess
	conn   *sql.Conn
	held   map[int]bool
	excess int
	ended  bool
}

// LeasePartitions implements Partitioner with session-level advisory locks
// on a connection of its own.
func (j *Postgres) LeasePartitions(ctx context.Context) (PartitionLease, error) {
	for {
		if j.isClosed() {
			return nil, errors.New("journal: closed")
		}
		l, err := j.tryLease(ctx)
		if err == nil {
			return l, nil
		}
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("journal: leasing partitions: %w", ctx.Err())
		case <-time.After(j.leaderPoll):
		}
	}
}

func (j *Postgres) tryLease(ctx context.Context) (*pgLease, error) {
	conn, err := j.db.Conn(ctx)
	if err != nil {
		return nil, err
	}
	j.prepareSession(ctx, conn)
	key, err := postgres.LockKey(ctx, conn, "partitions")
	if err != nil {
		discard(conn)
		return nil, err
	}
	l := &pgLease{j: j, key: int32(uint32(key) & 0x7fffffff), conn: conn, held: map[int]bool{},
		lost: make(chan struct{}), stop: make(chan struct{}), done: make(chan struct{})}
	if _, err := conn.ExecContext(ctx, `SELECT pg_advisory_lock_shared($1, $2)`, l.key, memberLock); err != nil {
		discard(conn)
		return nil, err
	}
	l.mu.Lock()
	err = l.rebalance(ctx)
	l.mu.Unlock()
	if err != nil {
		discard(conn)
		return nil, err
	}
	j.mu.Lock()
	if j.closed {
		j.mu.Unlock()
		discard(conn)
		return nil, errors.New("journal: closed")
	}
	j.leases[l] = struct{}{}
	j.mu.Unlock()
	go l.watch()
	return l, nil
}

// lockFilter selects this schema's partition locks in pg_locks.
const lockFilter = `locktype = 'advisory' AND granted AND objsubid = 2 AND classid = $1
	AND database = (SELECT oid FROM pg_database WHERE datname = current_database())`

// rebalance counts the members, takes free partitions up to the fair
// share and notes how many are held beyond it. l.mu is held.
func (l *pgLease) rebalance(ctx context.Context) error {
	var members int
	if err := l.conn.QueryRowContext(ctx, `SELECT count(DISTINCT pid) FROM pg_locks WHERE `+lockFilter+` AND objid = $2`,
		l.key, memberLock).Scan(&members); err != nil {
		return fmt.Errorf("journal: count forwarders: %w", err)
	}
	share := (Partitions + max(members, 1) - 1) / max(members, 1)
	l.excess = max(0, len(l.held)-share)
	if len(l.held) >= share {
		return nil
	}
	rows, err := l.conn.QueryContext(ctx, `SELECT objid::int FROM pg_locks WHERE `+lockFilter+` AND objid < $2`, l.key, Partitions)
	if err != nil {
		return fmt.Errorf("journal: list partition leases: %w", err)
	}
	taken := map[int]bool{}
	for rows.Next() {
		var p int
		if err := rows.Scan(&p); err != nil {
			rows.Close()
			return fmt.Errorf("journal: list partition leases: %w", err)
		}
		taken[p] = true
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return fmt.Errorf("journal: list partition leases: %w", err)
	}
	for p := 0; p < Partitions && len(l.held) < share; p++ {
		if taken[p] || l.held[p] {
			continue
		}
		var ok bool
		if err := l.conn.QueryRowContext(ctx, `SELECT pg_try_advisory_lock($1, $2)`, l.key, p).Scan(&ok); err != nil {
			return fmt.Errorf("journal: lease partition %d: %w", p, err)
		}
		if ok {
			l.held[p] = true
		}
	}
	return nil
}

// watch rebalances every poll; the query doubles as the session's ping.
func (l *pgLease) watch() {
	defer close(l.done)
	t := time.NewTicker(l.j.leaderPoll)
	defer t.Stop()
	for {
		select {
		case <-l.stop:
			return
		case <-t.C:
		}
		ctx, cancel := context.WithTimeout(context.Background(), l.j.leaderPoll)
		l.mu.Lock()
		err := l.rebalance(ctx)
		l.mu.Unlock()
		cancel()
		if err != nil {
			l.end()
			return
		}
	}
}

// Partitions implements PartitionLease.
func (l *pgLease) Partitions() []int {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.ended {
		return nil
	}
	held := make([]int, 0, len(l.held))
	for p := range l.held {
		held = append(held, p)
	}
	slices.Sort(held)
	if l.excess > 0 {
		// Give up the highest ones: a replica that joins takes the
		// lowest free partitions first.
		ctx, cancel := context.WithTimeout(context.Background(), l.j.leaderPoll)
		defer cancel()
		for _, p := range held[len(held)-l.excess:] {
			if _, err := l.conn.ExecContext(ctx, `SELECT pg_advisory_unlock($1, $2)`, l.key, p); err != nil {
				// The session is in doubt: ending it frees every lock.
				go l.end()
				return nil
			}
			delete(l.held, p)
		}
		held = held[:len(held)-l.excess]
		l.excess = 0
	}
	return held
}

// Lost implements PartitionLease.
func (l *pgLease) Lost() <-chan struct{} { return l.lost }

// Release implements PartitionLease.
func (l *pgLease) Release() {
	l.once.Do(func() { close(l.stop) })
	<-l.done
	l.end()
}

// release is how Close gives the lease up.
func (l *pgLease) release() { l.Release() }

// end closes lost and the session, which frees the locks on the server.
func (l *pgLease) end() {
	l.j.mu.Lock()
	_, held := l.j.leases[l]
	delete(l.j.leases, l)
	l.j.mu.Unlock()
	if !held {
		return
	}
	l.mu.Lock()
	l.ended = true
	l.held = map[int]bool{}
	discard(l.conn)
	l.mu.Unlock()
	close(l.lost)
}
