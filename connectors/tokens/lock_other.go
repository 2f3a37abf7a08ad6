//go:build !unix

package tokens

// lockFile is a no-op where flock is unavailable: writers in one process
// are still serialised, writers in several processes are not.
func lockFile(string) (func(), error) { return func() {}, nil }

// syncDir is a no-op where directories cannot be synced.
func syncDir(string) error { return nil }
