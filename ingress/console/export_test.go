package console

import "time"

// OpenSession opens a session with any role (as single sign-on would),
// for tests of roles; it
// returns the cookie value.
func (h *Handler) OpenSession(user string, role Role) string {
	c, _ := h.sessions.open(user, role, h.cfg.Now(), h.cfg.SessionTTL)
	return c
}

// PayloadCap is payloadCap, for tests.
const PayloadCap = payloadCap

// SessionTTLOf is h's session lifetime.
func (h *Handler) SessionTTLOf() time.Duration { return h.cfg.SessionTTL }
