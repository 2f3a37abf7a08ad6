package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"github.com/spf13/cobra"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/hookflow/hookflow/ingress"
)

// adminClient calls a running server's /admin/v1 API.
type adminClient struct {
	base  string
	token string
	http  *http.Client
}

func (g *globals) admin() (*adminClient, error) {
	token, err := g.adminToken()
	if err != nil {
		return nil, err
	}
	return &adminClient{base: strings.TrimSuffix(g.server, "/") + "/admin/v1", token: token, http: &http.Client{Timeout: 30 * time.Second}}, nil
}

// adminCall makes one admin API request for cmd (method, path and in as
// for do) and returns the decoded answer.
func adminCall[T any](cmd *cobra.Command, g *globals, method, path string, in any) (T, error) {
	var out T
	a, err := g.admin()
	if err != nil {
		return out, err
	}
	return out, a.do(cmd.Context(), method, path, in, &out)
}

// do sends in (when not nil) as JSON and decodes the answer into out.
func (a *adminClient) do(ctx context.Context, method, path string, in, out any) error {
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return err
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, a.base+path, body)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+a.token)
	req.Header.Set("User-Agent", ingress.CLIUserAgent) // the audit log says "cli"
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := a.http.Do(req)
	if err != nil {
		return fmt.Errorf("cannot reach the hookflow server (is `hookflow dev` running? --server): %w", err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if err != nil {
		return err
	}
	if resp.StatusCode >= 300 {
		var e struct {
			Error struct{ Code, Message, Hint string } `json:"error"`
		}
		if json.Unmarshal(data, &e) == nil && e.Error.Message != "" {
			msg := fmt.Sprintf("server answered %d: %s", resp.StatusCode, e.Error.Message)
			if e.Error.Hint != "" {
				msg += " (" + e.Error.Hint + ")"
			}
			return fmt.Errorf("%s", msg)
		}
		return fmt.Errorf("server answered %s", resp.Status)
	}
	if out == nil {
		return nil
	}
	return json.Unmarshal(data, out)
}
