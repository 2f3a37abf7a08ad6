package main

import (
	"crypto/hmac"
	"crypto/sha256"
	_ "embed"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
)

// prTemplate is GitHub's pull_request "synchronize" delivery body, as in
// ingress/github/testdata/pull_request.synchronize.http. "synchronize"
// makes the prcomment blueprint apply the event without an activity, so
// the end-to-end runs measure delivery, not GitHub calls.
//
//go:embed pull_request.synchronize.json
var prTemplate []byte

// bodySize is the size of every benchmark delivery: 8 KiB, a typical
// pull_request payload (GitHub's full payloads run 8-30 KiB).
const bodySize = 8 << 10

// prBody returns a pull_request body of exactly bodySize bytes for pull
// request number of repository owner/name. The padding goes into
// pull_request.body, where GitHub puts the description.
func prBody(owner, name string, number int) ([]byte, error) {
	return prBodyOfSize(owner, name, number, bodySize)
}

// prBodyOfSize is prBody padded to size bytes.
func prBodyOfSize(owner, name string, number, size int) ([]byte, error) {
	var m map[string]any
	if err := json.Unmarshal(prTemplate, &m); err != nil {
		return nil, err
	}
	full := owner + "/" + name
	m["number"] = number
	pr := m["pull_request"].(map[string]any)
	pr["number"] = number
	pr["url"] = "https://api.github.com/repos/" + full + "/pulls/" + strconv.Itoa(number)
	pr["html_url"] = "https://github.com/" + full + "/pull/" + strconv.Itoa(number)
	for _, side := range []string{"head", "base"} {
		repo := pr[side].(map[string]any)["repo"].(map[string]any)
		repo["name"], repo["full_name"] = name, full
	}
	repo := m["repository"].(map[string]any)
	repo["name"], repo["full_name"] = name, full
	repo["owner"].(map[string]any)["login"] = owner
	return padBody(m, number, size)
}

// fullPRBodyOfSize is a pull_request "synchronize" body of size bytes with
// every object GitHub's webhook carries in full (the author, assignees,
// reviewers, both ends' users and repositories, the repository, the
// sender: most of a real delivery is these objects and their hypermedia
// URLs), the rest of size in the description.
func fullPRBodyOfSize(owner, name string, number, size int) ([]byte, error) {
	return padBody(fullPR(owner, name, number), number, size)
}

// padBody marshals the pull_request event m with its description
// (pull_request.body) padded with prose to make the body size bytes.
func padBody(m map[string]any, number, size int) ([]byte, error) {
	pr := m["pull_request"].(map[string]any)
	pr["body"] = ""
	b, err := json.Marshal(m)
	if err != nil {
		return nil, err
	}
	if len(b) > size {
		return nil, fmt.Errorf("the pull_request event is %d bytes without a description, over %d", len(b), size)
	}
	pr["body"] = prose(number, size-len(b))
	if b, err = json.Marshal(m); err != nil {
		return nil, err
	}
	if len(b) != size {
		return nil, fmt.Errorf("body is %d bytes, want %d", len(b), size)
	}
	return b, nil
}

// sign returns body's X-Hub-Signature-256 under secret.
func sign(body, secret []byte) string {
	m := hmac.New(sha256.New, secret)
	m.Write(body)
	return "sha256=" + hex.EncodeToString(m.Sum(nil))
}

// signed returns the signed delivery of pull request number.
func signed(owner, name string, number int, secret []byte) (*delivery, error) {
	return signedOfSize(owner, name, number, bodySize, shapeProse, secret)
}

// signedOfSize is signed with a body of size bytes, filled as shape says.
func signedOfSize(owner, name string, number, size int, shape *payloadShape, secret []byte) (*delivery, error) {
	body, err := shape.build(owner, name, number, size)
	if err != nil {
		return nil, err
	}
	return &delivery{body: body, sig: sign(body, secret)}, nil
}

// payloadShape is what fills a benchmark body.
type payloadShape struct {
	name  string // load's --payload value
	label string // the report's name for it
	build func(owner, name string, number, size int) ([]byte, error)
}

var (
	// shapeProse: GitHub's synchronize example trimmed to the fields
	// routing reads, the rest pseudo-random prose in the description
	// (compresses 2-3x: the worst case for a journal that compresses).
	shapeProse = &payloadShape{name: "prose", label: "long description", build: prBodyOfSize}
	// shapeFull: every object of the delivery in full, as GitHub sends
	// it, and a short description (compresses about 7x).
	shapeFull = &payloadShape{name: "full", label: "every object in full", build: fullPRBodyOfSize}
	// payloadShapes are both, the Probot goal's first.
	payloadShapes = []*payloadShape{shapeFull, shapeProse}
)

// proseWords are what a pull request description is made of.
var proseWords = strings.Fields(`the a to of and in is for this that with on it be as by we not are when from
	at or an fix add update remove change test tests build deploy release config service handler webhook
	request response error retry timeout cache token secret key value queue worker workflow activity signal
	event payload journal ingress forwarder branch commit merge review reviewer approve approved label
	issue ticket jira github gitlab pipeline job step stage environment production staging rollback
	migration schema database table index column query latency throughput memory cpu disk network
	because so that which should would could must may might also only still already after before
	during while until since then now new old first last next previous each every all some any
	file files line lines function method type struct interface package module import export
	docs readme changelog version bump dependency upgrade downgrade patch minor major breaking`)

// prose returns n bytes of pseudo-random prose, seeded by seed: it
// compresses about as well as real descriptions (2-3x), unlike a repeated
// phrase, which would flatter a journal that compresses.
func prose(seed, n int) string {
	var b strings.Builder
	x := uint64(seed)*6364136223846793005 + 1442695040888963407
	for b.Len() < n {
		x = x*6364136223846793005 + 1442695040888963407
		b.WriteString(proseWords[(x>>33)%uint64(len(proseWords))])
		if x>>60 == 0 {
			b.WriteString(". ")
		} else {
			b.WriteByte(' ')
		}
	}
	return b.String()[:n]
}
