package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sync/atomic"
)

// octokitExamples is the package of GitHub's webhook payload examples
// that @octokit/webhooks is typed and tested from: payloads written by
// others, from GitHub's documentation, for the Probot comparison.
const octokitExamples = "@octokit/webhooks-examples@7.6.1"

// examplesIndex is where the package keeps GitHub.com's examples: a JSON
// array of {name, examples: [payload, ...]}, one entry per event type.
const examplesIndex = "node_modules/@octokit/webhooks-examples/api.github.com/index.json"

// loadExamples reads every example of the index at path as a signed
// delivery of its event type, its body compacted as GitHub sends it
// (application/json, no indentation), in the index's order.
func loadExamples(path string, secret []byte) ([]*delivery, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var index []struct {
		Name     string            `json:"name"`
		Examples []json.RawMessage `json:"examples"`
	}
	if err := json.Unmarshal(raw, &index); err != nil {
		return nil, fmt.Errorf("%s: %w", filepath.Base(path), err)
	}
	var ds []*delivery
	for _, e := range index {
		for _, ex := range e.Examples {
			var b bytes.Buffer
			if err := json.Compact(&b, ex); err != nil {
				return nil, fmt.Errorf("%s example of %s: %w", e.Name, filepath.Base(path), err)
			}
			ds = append(ds, &delivery{body: b.Bytes(), sig: sign(b.Bytes(), secret), event: e.Name})
		}
	}
	if len(ds) == 0 {
		return nil, fmt.Errorf("%s holds no examples", path)
	}
	return ds, nil
}

// roundRobin returns a send function that posts ds in turn, each with a
// new delivery ID.
func roundRobin(p *poster, ds []*delivery) func(context.Context) (int, error) {
	var next atomic.Int64
	return func(ctx context.Context) (int, error) {
		return p.post(ctx, ds[int(next.Add(1)-1)%len(ds)])
	}
}

// meanSize is the mean body size of ds in bytes.
func meanSize(ds []*delivery) int {
	n := 0
	for _, d := range ds {
		n += len(d.body)
	}
	return n / len(ds)
}
