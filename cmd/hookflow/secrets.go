package main

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/hookflow/hookflow/ingress"
)

// webhookSecretEnv is the environment variable integrations create,
// integrations rotate and send read a webhook secret from when no flag
// gives one.
const webhookSecretEnv = "HOOKFLOW_WEBHOOK_SECRET"

// readSecret reads a credential (what: "token", "secret") from file, or
// from standard input when stdin, never from the command line: at most
// maxTokenSize bytes, without a trailing newline (from echo or an editor;
// inner newlines, as in a PEM key, are kept), never empty. "tokens put" and
// the webhook secret flags share it.
func readSecret(cmd *cobra.Command, what, file string, stdin bool) (string, error) {
	var r io.Reader
	if stdin {
		r = cmd.InOrStdin()
	} else {
		f, err := os.Open(file)
		if err != nil {
			return "", err
		}
		defer f.Close()
		r = f
	}
	b, err := io.ReadAll(io.LimitReader(r, maxTokenSize+1))
	if err != nil {
		return "", fmt.Errorf("read the %s: %w", what, err)
	}
	if len(b) > maxTokenSize {
		return "", fmt.Errorf("the %s is larger than %d bytes", what, maxTokenSize)
	}
	s := string(bytes.TrimRight(b, "\r\n"))
	if strings.TrimSpace(s) == "" {
		return "", fmt.Errorf("the %s is empty", what)
	}
	return s, nil
}

// secretFlags are the ways a command takes a webhook secret: a file, standard
// input, HOOKFLOW_WEBHOOK_SECRET, or, for development, the value itself on
// the command line (where shell history and the process list keep it).
type secretFlags struct {
	value string
	file  string
	stdin bool
}

func (s *secretFlags) addFlags(f *pflag.FlagSet, usage string) {
	f.StringVar(&s.file, "secret-file", "", usage+", read from this file (a trailing newline is dropped)")
	f.BoolVar(&s.stdin, "secret-stdin", false, usage+", read from standard input")
	f.StringVar(&s.value, "secret", "", usage+" itself (development only: shell history and the process list keep it; prefer --secret-file, --secret-stdin or "+webhookSecretEnv+")")
}

// get returns the secret and where it came from, for errors ("--secret-file
// FILE", "HOOKFLOW_WEBHOOK_SECRET", ...); "", "" when none was given. At
// most one flag may be given; the environment is read only without one.
func (s *secretFlags) get(cmd *cobra.Command, getenv func(string) string) (secret, from string, err error) {
	n := 0
	for _, set := range []bool{s.value != "", s.file != "", s.stdin} {
		if set {
			n++
		}
	}
	switch {
	case n > 1:
		return "", "", errors.New("give at most one of --secret, --secret-file and --secret-stdin")
	case s.file != "":
		from = "--secret-file " + s.file
		secret, err = readSecret(cmd, "secret", s.file, false)
	case s.stdin:
		from = "--secret-stdin"
		secret, err = readSecret(cmd, "secret", "", true)
	case s.value != "":
		return s.value, "--secret", nil
	case getenv(webhookSecretEnv) != "":
		return getenv(webhookSecretEnv), webhookSecretEnv, nil
	default:
		return "", "", nil
	}
	if err != nil {
		return "", "", fmt.Errorf("%s: %w", from, err)
	}
	return secret, from, nil
}

// integrationSecret is get for a secret an integration will verify with:
// at least ingress.MinSecretBytes, or "" for a random one.
func (s *secretFlags) integrationSecret(cmd *cobra.Command, getenv func(string) string) (string, error) {
	secret, from, err := s.get(cmd, getenv)
	if err != nil {
		return "", err
	}
	if secret != "" && len(secret) < ingress.MinSecretBytes {
		return "", fmt.Errorf("%s: the secret is %d bytes; a webhook secret needs at least %d (leave it out for a random one, or generate one with: openssl rand -hex 32)",
			from, len(secret), ingress.MinSecretBytes)
	}
	return secret, nil
}

// checkAdminToken refuses an admin token shorter than
// ingress.MinAdminTokenLength; from says where it was read.
func checkAdminToken(token, from string) error {
	if len(token) < ingress.MinAdminTokenLength {
		return fmt.Errorf("%s: the admin token is %d characters; it needs at least %d (generate one with: openssl rand -hex 32)",
			from, len(token), ingress.MinAdminTokenLength)
	}
	return nil
}
