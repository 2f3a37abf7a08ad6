package forward

import "context"

// Round runs one forwarding round, as Run does between its waits, so that
// tests can drive the forwarder step by step under a fake clock.
func (f *Forwarder) Round(ctx context.Context) (int, error) { return f.round(ctx) }
