package ingress

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"

	"github.com/hookflow/hookflow/ingress/hook"
	"github.com/hookflow/hookflow/ingress/journal"
)

// DigestsRequest is the body of POST /admin/v1/deliveries/digests.
type DigestsRequest struct {
	Seqs []int64 `json:"seqs"`
}

// PayloadDigest is the SHA-256 of one entry's payload as the journal
// holds it (the sender's bytes).
type PayloadDigest struct {
	Seq    int64  `json:"seq"`
	SHA256 string `json:"sha256"`
	Size   int    `json:"size"`
}

// DigestsResult answers POST /admin/v1/deliveries/digests. Missing are
// the entries the journal no longer holds (pruned) or that keep no
// payload.
type DigestsResult struct {
	Digests []PayloadDigest `json:"digests"`
	Missing []int64         `json:"missing"`
}

// maxDigests bounds the entries of one digests request.
const maxDigests = 1000

// digests serves POST /admin/v1/deliveries/digests, for audit exports:
// the payload never leaves the server, only its digest.
func (s *Server) digests(w http.ResponseWriter, r *http.Request) {
	var req DigestsRequest
	if err := decodeJSON(r, &req); err != nil {
		writeError(w, err)
		return
	}
	if len(req.Seqs) > maxDigests {
		writeError(w, hook.BadRequest("too_many", fmt.Sprintf("at most %d entries per request", maxDigests), ""))
		return
	}
	out := DigestsResult{Digests: []PayloadDigest{}, Missing: []int64{}}
	for _, seq := range req.Seqs {
		p, err := s.cfg.Journal.Payload(r.Context(), seq)
		switch {
		case errors.Is(err, journal.ErrNotFound), errors.Is(err, journal.ErrNotReplayable):
			out.Missing = append(out.Missing, seq)
			continue
		case err != nil:
			s.internal(w, r, err)
			return
		}
		sum := sha256.Sum256(p)
		out.Digests = append(out.Digests, PayloadDigest{Seq: seq, SHA256: hex.EncodeToString(sum[:]), Size: len(p)})
	}
	writeJSON(w, http.StatusOK, out)
}
