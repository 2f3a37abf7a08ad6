package ingress

import (
	"net/http"
	"strings"

	"github.com/hookflow/hookflow/ingress/hook"
)

// verificationReason classifies a verification refusal into a few
// reasons, for a metric label: never the message itself.
func verificationReason(e *hook.Error) string {
	msg := e.Message
	switch {
	case e.Status != http.StatusUnauthorized:
		return "other"
	case strings.HasPrefix(msg, "missing"):
		return "missing"
	case strings.Contains(msg, "does not match"), strings.Contains(msg, "not valid"):
		return "mismatch"
	case strings.Contains(msg, "timestamp"):
		return "timestamp"
	case strings.HasPrefix(msg, "unknown scheme"):
		return "misconfigured"
	}
	return "other"
}

// verificationFailed counts a refused verification; a nil *Metrics counts
// nothing.
func (m *Metrics) verificationFailed(source string, e *hook.Error) {
	if m == nil {
		return
	}
	m.verifyFail.WithLabelValues(source, verificationReason(e)).Inc()
}
