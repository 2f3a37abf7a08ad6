package main

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"os"
	"sync"
	"time"

	"github.com/spf13/pflag"
	"go.temporal.io/sdk/client"
)

// temporalTLS is how a command reaches a Temporal frontend over TLS, with
// a client certificate (mTLS) when the frontend asks for one: a
// self-hosted cluster with requireClientAuth, or Temporal Cloud.
type temporalTLS struct {
	// Cert and Key are PEM files of the client certificate; both or
	// neither. Empty means no client certificate.
	Cert, Key string
	// CA is a PEM bundle that verifies the frontend's certificate; empty
	// means the system's roots (enough for Temporal Cloud).
	CA string
	// ServerName is the name the frontend's certificate must carry; empty
	// means the host of --temporal-address.
	ServerName string
	// Enabled turns TLS on with none of the files (system roots, no client
	// certificate); any of the fields above turns it on too.
	Enabled bool
}

// addFlags registers the --temporal-tls-* flags, with the environment
// variables the Temporal CLI reads as defaults.
func (t *temporalTLS) addFlags(f *pflag.FlagSet) {
	f.StringVar(&t.Cert, "temporal-tls-cert", envOr("TEMPORAL_TLS_CERT", ""), "client certificate (PEM) for mTLS to the Temporal frontend; reread on each new connection, so a rotated file is picked up (env TEMPORAL_TLS_CERT)")
	f.StringVar(&t.Key, "temporal-tls-key", envOr("TEMPORAL_TLS_KEY", ""), "private key (PEM) of --temporal-tls-cert (env TEMPORAL_TLS_KEY)")
	f.StringVar(&t.CA, "temporal-tls-ca", envOr("TEMPORAL_TLS_CA", ""), "CA bundle (PEM) that verifies the Temporal frontend's certificate (default: the system's roots) (env TEMPORAL_TLS_CA)")
	f.StringVar(&t.ServerName, "temporal-tls-server-name", envOr("TEMPORAL_TLS_SERVER_NAME", ""), "name the Temporal frontend's certificate must carry (default: the host of --temporal-address) (env TEMPORAL_TLS_SERVER_NAME)")
	f.BoolVar(&t.Enabled, "temporal-tls", envOr("TEMPORAL_TLS", "") == "true", "dial Temporal over TLS with the system's roots even without any --temporal-tls-* file (env TEMPORAL_TLS=true)")
}

// config returns the client TLS configuration, or nil for plaintext. The
// files are checked now, so a typo fails at start and not at the first
// signal.
func (t temporalTLS) config() (*tls.Config, error) {
	if !t.Enabled && t.Cert == "" && t.Key == "" && t.CA == "" && t.ServerName == "" {
		return nil, nil
	}
	if (t.Cert == "") != (t.Key == "") {
		return nil, errors.New("--temporal-tls-cert and --temporal-tls-key go together")
	}
	conf := &tls.Config{MinVersion: tls.VersionTLS12, ServerName: t.ServerName}
	if t.CA != "" {
		pool, err := loadCAs(t.CA)
		if err != nil {
			return nil, fmt.Errorf("--temporal-tls-ca: %w", err)
		}
		conf.RootCAs = pool
	}
	if t.Cert != "" {
		kp := &keyPair{cert: t.Cert, key: t.Key}
		if _, err := kp.get(); err != nil {
			return nil, fmt.Errorf("--temporal-tls-cert/--temporal-tls-key: %w", err)
		}
		conf.GetClientCertificate = func(*tls.CertificateRequestInfo) (*tls.Certificate, error) { return kp.get() }
	}
	return conf, nil
}

// option sets the TLS configuration on client options: pass it to
// dialTemporal or lazyTemporal.
func (t temporalTLS) option() (func(*client.Options), error) {
	conf, err := t.config()
	if err != nil {
		return nil, err
	}
	return func(o *client.Options) { o.ConnectionOptions.TLS = conf }, nil
}

// listenTLS is the ingress's own certificate for its webhook listener.
type listenTLS struct {
	// Cert and Key are PEM files; both or neither. Empty means plain
	// HTTP (behind a TLS-terminating load balancer).
	Cert, Key string
}

func (l *listenTLS) addFlags(f *pflag.FlagSet) {
	f.StringVar(&l.Cert, "tls-cert", envOr("HOOKFLOW_TLS_CERT", ""), "serve --http over TLS with this certificate (PEM, with its chain); reread when the file changes (env HOOKFLOW_TLS_CERT). Without it the ingress serves plain HTTP, for a TLS-terminating load balancer")
	f.StringVar(&l.Key, "tls-key", envOr("HOOKFLOW_TLS_KEY", ""), "private key (PEM) of --tls-cert (env HOOKFLOW_TLS_KEY)")
}

// config returns the server TLS configuration, or nil for plain HTTP.
func (l listenTLS) config() (*tls.Config, error) {
	if l.Cert == "" && l.Key == "" {
		return nil, nil
	}
	if l.Cert == "" || l.Key == "" {
		return nil, errors.New("--tls-cert and --tls-key go together")
	}
	kp := &keyPair{cert: l.Cert, key: l.Key}
	if _, err := kp.get(); err != nil {
		return nil, fmt.Errorf("--tls-cert/--tls-key: %w", err)
	}
	return &tls.Config{
		MinVersion:     tls.VersionTLS12,
		NextProtos:     []string{"h2", "http/1.1"},
		GetCertificate: func(*tls.ClientHelloInfo) (*tls.Certificate, error) { return kp.get() },
	}, nil
}

// loadCAs reads a PEM bundle into a pool.
func loadCAs(file string) (*x509.CertPool, error) {
	b, err := os.ReadFile(file)
	if err != nil {
		return nil, err
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(b) {
		return nil, fmt.Errorf("%s holds no PEM certificate", file)
	}
	return pool, nil
}

// keyPair is a certificate and key on disk, reloaded when either file's
// modification time changes (cert-manager and Vault Agent replace them in
// place), checked at most once a second.
type keyPair struct {
	cert, key string

	mu      sync.Mutex
	loaded  *tls.Certificate
	stamp   [2]time.Time
	checked time.Time
}

func (k *keyPair) get() (*tls.Certificate, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.loaded != nil && time.Since(k.checked) < time.Second {
		return k.loaded, nil
	}
	var stamp [2]time.Time
	for i, p := range []string{k.cert, k.key} {
		st, err := os.Stat(p)
		if err != nil {
			if k.loaded != nil {
				return k.loaded, nil // mid-rotation: keep the last good pair
			}
			return nil, err
		}
		stamp[i] = st.ModTime()
	}
	k.checked = time.Now()
	if k.loaded != nil && stamp == k.stamp {
		return k.loaded, nil
	}
	c, err := tls.LoadX509KeyPair(k.cert, k.key)
	if err != nil {
		if k.loaded != nil {
			return k.loaded, nil
		}
		// LoadX509KeyPair's errors name the files' roles, never their
		// contents.
		return nil, err
	}
	k.loaded, k.stamp = &c, stamp
	return k.loaded, nil
}
