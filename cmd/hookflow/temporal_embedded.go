//go:build !nodevserver

package main

import "github.com/hookflow/hookflow/internal/devserver"

// startTemporal runs the embedded Temporal dev server. Production images
// build with -tags nodevserver (see temporal_none.go): they reach an
// existing Temporal cluster and need not map the server's ~150 MiB.
func startTemporal(ip string, grpcPort, uiPort int, dbFile string) (temporalServer, error) {
	return devserver.Start(devserver.Options{IP: ip, GRPCPort: grpcPort, UIPort: uiPort, DatabaseFile: dbFile,
		SearchAttributes: searchAttributeTypes()})
}
