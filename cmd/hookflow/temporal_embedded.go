//go:build !nodevserver

package main

import (
	"errors"
	"os"

	"github.com/hookflow/hookflow/internal/devserver"
)

// startTemporal runs the embedded Temporal dev server. Production images
// build with -tags nodevserver (see temporal_none.go): they reach an
// existing Temporal cluster and need not map the server's ~150 MiB.
func startTemporal(ip string, grpcPort, uiPort int, dbFile string) (temporalServer, error) {
	t, err := devTemporalTLS(os.Getenv)
	if err != nil {
		return nil, err
	}
	return devserver.Start(devserver.Options{IP: ip, GRPCPort: grpcPort, UIPort: uiPort, DatabaseFile: dbFile, TLS: t,
		SearchAttributes: searchAttributeTypes()})
}

// devTemporalTLS reads the embedded frontend's mTLS settings from
// HOOKFLOW_DEV_TEMPORAL_TLS_*, for trying --temporal-tls-* on one machine:
// _CERT and _KEY (the frontend's certificate), _CLIENT_CA (verifies client
// certificates and, unless _ROOT_CA is set, the frontend for the server's
// own workers), _WORKER_CERT and _WORKER_KEY (the client certificate of
// those workers), _SERVER_NAME. None set means plaintext.
func devTemporalTLS(getenv func(string) string) (*devserver.TLS, error) {
	const p = "HOOKFLOW_DEV_TEMPORAL_TLS_"
	t := devserver.TLS{
		CertFile: getenv(p + "CERT"), KeyFile: getenv(p + "KEY"), ClientCAFile: getenv(p + "CLIENT_CA"),
		WorkerCertFile: getenv(p + "WORKER_CERT"), WorkerKeyFile: getenv(p + "WORKER_KEY"),
		RootCAFile: getenv(p + "ROOT_CA"), ServerName: getenv(p + "SERVER_NAME"),
	}
	if t == (devserver.TLS{}) {
		return nil, nil
	}
	if t.RootCAFile == "" {
		t.RootCAFile = t.ClientCAFile
	}
	if t.CertFile == "" || t.KeyFile == "" || t.ClientCAFile == "" || t.WorkerCertFile == "" || t.WorkerKeyFile == "" {
		return nil, errors.New(p + "CERT, _KEY, _CLIENT_CA, _WORKER_CERT and _WORKER_KEY go together")
	}
	return &t, nil
}
