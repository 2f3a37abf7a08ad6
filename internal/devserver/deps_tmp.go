package devserver

import (
	_ "github.com/go-chi/chi/v5"
	_ "github.com/google/go-github/v62/github"
	_ "github.com/spf13/cobra"
	_ "github.com/stretchr/testify/require"
	_ "go.temporal.io/sdk/client"
	_ "go.temporal.io/sdk/testsuite"
	_ "go.temporal.io/sdk/worker"
	_ "modernc.org/sqlite"
)
