package tokens

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/hookflow/hookflow/internal/secretbox"
)

// DefaultFileName is the file store's name inside the data directory.
const DefaultFileName = "tokens.enc"

// fileMagic starts every token file, so that a file of another kind (or a
// future format) is recognised before decryption is tried.
var fileMagic = []byte("hookflow-tokens v1\n")

// fileAD binds the ciphertext to its purpose: a key shared with the
// integration store cannot open one store's data as the other's.
var fileAD = []byte("hookflow/connectors/tokens/file v1")

// File is the embedded token store: every token in one AES-256-GCM
// encrypted file, rewritten whole on each change (write to a temporary file,
// fsync, rename, fsync the directory), so that a crash leaves either the old
// or the new file. Writers in this and other processes are serialised by an
// advisory lock on "<path>.lock"; readers never lock: they re-read the file
// when its identity, size or modification time changes. A File is safe for
// concurrent use. It is meant for tens to thousands of tokens, not millions.
type File struct {
	path string
	box  *secretbox.Box

	writeMu sync.Mutex // serialises writers within the process; the flock does across processes

	mu     sync.Mutex // guards the fields below
	loaded bool
	stat   fs.FileInfo // of the file last read; nil when it did not exist
	tokens map[Key]string
}

var _ ReadWriteStore = (*File)(nil)

// fileRecord is one token in the decrypted file.
type fileRecord struct {
	System       string `json:"system"`
	Installation string `json:"installation,omitempty"`
	Token        string `json:"token"`
}

type fileContent struct {
	Tokens []fileRecord `json:"tokens"`
}

// NewFile returns a store kept at path, encrypted with a 32-byte key (see
// secretbox.LoadOrCreateKey). Nothing is read or created until first use:
// the file and its directory (mode 0700) are created by the first Put.
func NewFile(path string, key []byte) (*File, error) {
	box, err := secretbox.New(key)
	if err != nil {
		return nil, fmt.Errorf("tokens: %w", err)
	}
	return &File{path: path, box: box}, nil
}

// OpenDir returns the store at <dataDir>/tokens.enc, encrypted with the key
// in <dataDir>/secret.key, which is created when missing.
func OpenDir(dataDir string) (*File, error) {
	key, err := secretbox.LoadOrCreateKey(filepath.Join(dataDir, "secret.key"))
	if err != nil {
		return nil, fmt.Errorf("tokens: %w", err)
	}
	return NewFile(filepath.Join(dataDir, DefaultFileName), key)
}

// Path returns the file's path.
func (f *File) Path() string { return f.path }

// String describes the store without its contents, so that printing it
// (%v, %+v) never shows a token.
func (f *File) String() string { return "tokens.File(" + f.path + ")" }

// GoString is String, for %#v.
func (f *File) GoString() string { return f.String() }

// Token implements Store.
func (f *File) Token(_ context.Context, key Key) (string, error) {
	if err := key.Validate(); err != nil {
		return "", err
	}
	m, err := f.current()
	if err != nil {
		return "", err
	}
	tok, ok := m[key]
	if !ok {
		return "", notFound(key)
	}
	return tok, nil
}

// List implements Lister.
func (f *File) List(_ context.Context) ([]Key, error) {
	m, err := f.current()
	if err != nil {
		return nil, err
	}
	keys := make([]Key, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	SortKeys(keys)
	return keys, nil
}

// Put implements Writer.
func (f *File) Put(ctx context.Context, key Key, token string) error {
	if err := key.Validate(); err != nil {
		return err
	}
	if token == "" {
		return fmt.Errorf("tokens: %s: empty token", key)
	}
	return f.update(ctx, key, func(m map[Key]string) error {
		m[key] = token
		return nil
	})
}

// Delete implements Writer.
func (f *File) Delete(ctx context.Context, key Key) error {
	if err := key.Validate(); err != nil {
		return err
	}
	return f.update(ctx, key, func(m map[Key]string) error {
		if _, ok := m[key]; !ok {
			return notFound(key)
		}
		delete(m, key)
		return nil
	})
}

// current returns the tokens as the file holds them now, re-reading it only
// when it changed since the last read. The map must not be modified.
func (f *File) current() (map[Key]string, error) {
	st, err := os.Stat(f.path)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("tokens: %w", err)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.loaded && sameFile(f.stat, st) {
		return f.tokens, nil
	}
	m, st, err := f.read()
	if err != nil {
		return nil, err
	}
	f.loaded, f.stat, f.tokens = true, st, m
	return m, nil
}

func sameFile(a, b fs.FileInfo) bool {
	if a == nil || b == nil {
		return a == nil && b == nil
	}
	return os.SameFile(a, b) && a.Size() == b.Size() && a.ModTime().Equal(b.ModTime())
}

// read decrypts the file. A missing file is an empty store.
func (f *File) read() (map[Key]string, fs.FileInfo, error) {
	fh, err := os.Open(f.path)
	if errors.Is(err, fs.ErrNotExist) {
		return map[Key]string{}, nil, nil
	}
	if err != nil {
		return nil, nil, fmt.Errorf("tokens: %w", err)
	}
	defer fh.Close()
	st, err := fh.Stat()
	if err != nil {
		return nil, nil, fmt.Errorf("tokens: %w", err)
	}
	raw, err := readAll(fh, st.Size())
	if err != nil {
		return nil, nil, fmt.Errorf("tokens: read %s: %w", f.path, err)
	}
	if !bytes.HasPrefix(raw, fileMagic) {
		return nil, nil, fmt.Errorf("tokens: %s is not a hookflow token file", f.path)
	}
	plain, err := f.box.Open(raw[len(fileMagic):], fileAD)
	if err != nil {
		return nil, nil, fmt.Errorf("tokens: %s: %w", f.path, err)
	}
	var c fileContent
	if err := json.Unmarshal(plain, &c); err != nil {
		// The decoder's message could quote decrypted bytes: do not wrap it.
		return nil, nil, fmt.Errorf("tokens: %s: decrypted content is not valid", f.path)
	}
	m := make(map[Key]string, len(c.Tokens))
	for _, r := range c.Tokens {
		m[Key{System: r.System, Installation: r.Installation}] = r.Token
	}
	return m, st, nil
}

func readAll(fh *os.File, size int64) ([]byte, error) {
	buf := bytes.NewBuffer(make([]byte, 0, size+512))
	_, err := buf.ReadFrom(fh)
	return buf.Bytes(), err
}

// update applies change to the freshest content under the write locks and
// writes the result atomically.
func (f *File) update(ctx context.Context, key Key, change func(map[Key]string) error) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("tokens: %s: %w", key, err)
	}
	f.writeMu.Lock()
	defer f.writeMu.Unlock()
	if err := os.MkdirAll(filepath.Dir(f.path), 0o700); err != nil {
		return fmt.Errorf("tokens: %w", err)
	}
	unlock, err := lockFile(f.path + ".lock")
	if err != nil {
		return fmt.Errorf("tokens: lock %s: %w", f.path, err)
	}
	defer unlock()
	// Another process may have written since our last read: start from
	// what is on disk now, never from the cached map.
	old, _, err := f.read()
	if err != nil {
		return err
	}
	m := make(map[Key]string, len(old)+1)
	for k, v := range old {
		m[k] = v
	}
	if err := change(m); err != nil {
		return err
	}
	if err := f.write(m); err != nil {
		return err
	}
	// Readers in this process see the change at once; the stat check
	// catches up with the new file on the next read.
	f.mu.Lock()
	f.loaded, f.stat = false, nil
	f.mu.Unlock()
	return nil
}

func (f *File) write(m map[Key]string) error {
	keys := make([]Key, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	SortKeys(keys)
	c := fileContent{Tokens: make([]fileRecord, 0, len(keys))}
	for _, k := range keys {
		c.Tokens = append(c.Tokens, fileRecord{System: k.System, Installation: k.Installation, Token: m[k]})
	}
	plain, err := json.Marshal(c)
	if err != nil {
		return fmt.Errorf("tokens: encode: %w", err)
	}
	sealed := append(append([]byte{}, fileMagic...), f.box.Seal(plain, fileAD)...)
	clear(plain)
	return writeFileAtomic(f.path, sealed)
}

// writeFileAtomic replaces path with data: a crash leaves the old file or
// the new one, never a mix.
func writeFileAtomic(path string, data []byte) error {
	dir := filepath.Dir(path)
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return fmt.Errorf("tokens: %w", err)
	}
	done := false
	defer func() {
		if !done {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()
	if err := tmp.Chmod(0o600); err != nil {
		return fmt.Errorf("tokens: %w", err)
	}
	if _, err := tmp.Write(data); err != nil {
		return fmt.Errorf("tokens: write %s: %w", tmp.Name(), err)
	}
	if err := tmp.Sync(); err != nil {
		return fmt.Errorf("tokens: sync %s: %w", tmp.Name(), err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("tokens: %w", err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("tokens: %w", err)
	}
	done = true
	return syncDir(dir)
}

// lockRetry bounds how long a writer waits for another process's lock.
const lockRetry = 30 * time.Second
