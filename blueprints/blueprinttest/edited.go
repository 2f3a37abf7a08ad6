package blueprinttest

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"strings"

	"github.com/hookflow/hookflow/ingress/hook"
)

// Edits are changes to a recorded JSON payload: a dotted path (such as
// "pull_request.title") and the value to put there; missing objects on the
// way are created.
type Edits map[string]any

// Edited is the recorded delivery testdata/FILE of a git source (github,
// gitlab or bitbucket; a file named dc.* is Bitbucket Data Center) with
// edits applied, the headers in header set, its own delivery ID id, and
// signed again as the sender signs: so that one recorded payload serves a
// whole scenario of events.
func Edited(source, file, id string, header map[string]string, edits Edits) Delivery {
	d := Delivery{File: "testdata/" + file, Source: source, Secret: Secrets[source]}
	dataCenter := source == "bitbucket" && strings.HasPrefix(file, "dc.")
	if dataCenter {
		d.Options = map[string]string{"host": "bitbucket.example.com"}
	}
	d.Mutate = func(r *hook.Request) {
		var m map[string]any
		dec := json.NewDecoder(bytes.NewReader(r.Body))
		dec.UseNumber()
		if err := dec.Decode(&m); err != nil {
			panic(err)
		}
		for path, v := range edits {
			setPath(m, path, v)
		}
		b, err := json.Marshal(m)
		if err != nil {
			panic(err)
		}
		r.Body = b
		for k, v := range header {
			r.Header.Set(k, v)
		}
		switch source {
		case "github":
			r.Header.Set("X-GitHub-Delivery", id)
			SignGitHub(r, d.Secret)
		case "gitlab":
			r.Header.Set("Idempotency-Key", id)
		case "bitbucket":
			if dataCenter {
				r.Header.Del("X-Request-UUID")
				r.Header.Set("X-Request-Id", id)
			} else {
				r.Header.Set("X-Request-UUID", id)
			}
			mac := hmac.New(sha256.New, []byte(d.Secret))
			mac.Write(b)
			r.Header.Set("X-Hub-Signature", "sha256="+hex.EncodeToString(mac.Sum(nil)))
		}
	}
	return d
}

// setPath sets the value at a dotted path in m.
func setPath(m map[string]any, path string, v any) {
	segs := strings.Split(path, ".")
	for _, s := range segs[:len(segs)-1] {
		next, ok := m[s].(map[string]any)
		if !ok {
			next = map[string]any{}
			m[s] = next
		}
		m = next
	}
	m[segs[len(segs)-1]] = v
}
