//go:build nodevserver

package main

import "errors"

func startTemporal(string, int, int, string) (temporalServer, error) {
	return nil, errors.New("this hookflow was built without the embedded Temporal server (-tags nodevserver): " +
		"run `hookflow dev --components worker,ingress` against a Temporal at --temporal-port, or use a full build")
}
