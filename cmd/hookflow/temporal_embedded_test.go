//go:build !nodevserver

package main

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/hookflow/hookflow/internal/devserver"
)

func TestDevTemporalTLS(t *testing.T) {
	t.Parallel()
	full := map[string]string{
		"HOOKFLOW_DEV_TEMPORAL_TLS_CERT": "c", "HOOKFLOW_DEV_TEMPORAL_TLS_KEY": "k", "HOOKFLOW_DEV_TEMPORAL_TLS_CLIENT_CA": "ca",
		"HOOKFLOW_DEV_TEMPORAL_TLS_WORKER_CERT": "wc", "HOOKFLOW_DEV_TEMPORAL_TLS_WORKER_KEY": "wk",
	}
	partial := map[string]string{"HOOKFLOW_DEV_TEMPORAL_TLS_CERT": "c"}
	tests := []struct {
		name    string
		env     map[string]string
		want    *devserver.TLS
		wantErr string
	}{
		{name: "plaintext", env: map[string]string{}},
		{name: "mTLS, the client CA verifies the frontend too", env: full,
			want: &devserver.TLS{CertFile: "c", KeyFile: "k", ClientCAFile: "ca", WorkerCertFile: "wc", WorkerKeyFile: "wk", RootCAFile: "ca"}},
		{name: "partial", env: partial, wantErr: "go together"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := devTemporalTLS(func(k string) string { return tt.env[k] })
			if tt.wantErr != "" {
				require.ErrorContains(t, err, tt.wantErr)
				return
			}
			require.NoError(t, err)
			require.Equal(t, tt.want, got)
		})
	}
}
