package main

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"time"
)

// bareHandler is the baseline the ingress is compared with: it reads the
// body, verifies GitHub's HMAC-SHA256 and answers 202, with no parsing and
// no storage. Nothing can answer a signed webhook for less.
func bareHandler(secret []byte) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rd := http.MaxBytesReader(w, r.Body, 25<<20)
		var body []byte
		var err error
		if r.ContentLength > 0 {
			body = make([]byte, r.ContentLength)
			_, err = io.ReadFull(rd, body)
		} else {
			body, err = io.ReadAll(rd)
		}
		if err != nil {
			http.Error(w, "unreadable body", http.StatusBadRequest)
			return
		}
		want, err := hex.DecodeString(strings.TrimPrefix(r.Header.Get("X-Hub-Signature-256"), "sha256="))
		m := hmac.New(sha256.New, secret)
		m.Write(body)
		if err != nil || !hmac.Equal(m.Sum(nil), want) {
			http.Error(w, "bad signature", http.StatusUnauthorized)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusAccepted)
		_, _ = io.WriteString(w, `{"status":"accepted"}`+"\n")
	})
}

// serveBare is the hidden `serve-bare` subcommand: the bare handler in its
// own process, like the ingress, with the ingress's server timeouts.
func serveBare(args []string) error {
	fs := flag.NewFlagSet("serve-bare", flag.ContinueOnError)
	addr := fs.String("addr", "127.0.0.1:0", "listen address")
	secret := fs.String("secret", "", "webhook secret")
	if err := fs.Parse(args); err != nil {
		return err
	}
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return err
	}
	fmt.Printf("bare handler listening on http://%s\n", ln.Addr())
	srv := &http.Server{
		Handler:           bareHandler([]byte(*secret)),
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       60 * time.Second,
		WriteTimeout:      60 * time.Second,
		IdleTimeout:       120 * time.Second,
	}
	return srv.Serve(ln)
}
