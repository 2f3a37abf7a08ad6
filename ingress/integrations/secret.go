package integrations

import (
	"crypto/rand"
	"encoding/base64"

	"github.com/hookflow/hookflow/ingress/generic"
	"github.com/hookflow/hookflow/ingress/gitlab"
)

// StandardSecretPrefix starts the secrets of Standard Webhooks senders:
// "whsec_" and the base64 of the key.
const StandardSecretPrefix = "whsec_"

// standardKeyBytes is the key length of generated Standard Webhooks
// secrets: 32 bytes, the usual length (the specification allows 24 to 64)
// and the one GitLab requires of signing tokens.
const standardKeyBytes = 32

// usesStandardSecrets reports whether an integration's sender takes
// Standard Webhooks secrets: a generic integration with scheme=standard,
// and GitLab, whose signing tokens are whsec_ secrets (such a secret also
// serves as a plain X-Gitlab-Token, so every GitLab integration gets one).
func usesStandardSecrets(source string, options map[string]string) bool {
	switch source {
	case gitlab.Name:
		return true
	case generic.Name:
		return options[generic.OptionScheme] == generic.SchemeStandard
	}
	return false
}

// newSecret generates a secret for an integration of source with options:
// a Standard Webhooks secret ("whsec_" and the standard base64 of 32 random
// bytes, which the Standard Webhooks libraries take as printed) for the
// senders that use them, else 32 random bytes, base64url-encoded.
func newSecret(source string, options map[string]string) []byte {
	if !usesStandardSecrets(source, options) {
		return []byte(randomToken(32))
	}
	key := make([]byte, standardKeyBytes)
	if _, err := rand.Read(key); err != nil {
		panic("integrations: no randomness: " + err.Error())
	}
	return []byte(StandardSecretPrefix + base64.StdEncoding.EncodeToString(key))
}
