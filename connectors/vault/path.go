package vault

import (
	"errors"
	"fmt"
	"net/url"
	"strings"

	"github.com/hookflow/hookflow/connectors/tokens"
)

// Placeholders of a path template.
const (
	placeSystem       = "{system}"
	placeInstallation = "{installation}"
)

// template is a parsed PathTemplate: slash-separated segments, each static
// or one of the two placeholders.
type template []string

func parseTemplate(s string) (template, error) {
	s = strings.Trim(s, "/")
	if s == "" {
		return nil, errors.New("vault: empty path template")
	}
	segs := strings.Split(s, "/")
	var sys, inst int
	for _, seg := range segs {
		switch {
		case seg == placeSystem:
			sys++
		case seg == placeInstallation:
			inst++
		case seg == "" || seg == "." || seg == "..":
			return nil, fmt.Errorf("vault: path template %q has an empty, . or .. segment", s)
		case strings.ContainsAny(seg, "{}"):
			return nil, fmt.Errorf("vault: path template %q: placeholders must be whole segments: {system} and {installation}", s)
		}
	}
	if sys != 1 || inst != 1 {
		return nil, fmt.Errorf("vault: path template %q must hold {system} and {installation} once each", s)
	}
	return segs, nil
}

// path returns the secret path for key, relative to the mount.
func (t template) path(key tokens.Key) string {
	out := make([]string, len(t))
	for i, seg := range t {
		switch seg {
		case placeSystem:
			out[i] = escapeSegment(key.System)
		case placeInstallation:
			out[i] = escapeSegment(key.Installation)
		default:
			out[i] = seg
		}
	}
	return strings.Join(out, "/")
}

// emptySegment stands for an empty installation (a system-wide token): a
// real "_" is escaped, so the two never meet.
const emptySegment = "_"

// escapeSegment turns any string into one path segment that Vault stores
// as is and that path cleaning cannot change: letters, digits, '-', '.'
// and '_' stay; every other byte (slashes included) becomes %XX. A leading
// '_' and an all-dots segment are escaped too, leaving "_" free for the
// empty string and no "." or ".." segment to be cleaned away.
func escapeSegment(s string) string {
	if s == "" {
		return emptySegment
	}
	allDots := strings.Trim(s, ".") == ""
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		keep := 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '.' || c == '_'
		if c == '_' && i == 0 || c == '.' && allDots {
			keep = false
		}
		if keep {
			b.WriteByte(c)
		} else {
			fmt.Fprintf(&b, "%%%02X", c)
		}
	}
	return b.String()
}

// unescapeSegment reverses escapeSegment. ok is false for a name that
// escapeSegment cannot have produced (a secret written by someone else),
// which List skips.
func unescapeSegment(s string) (string, bool) {
	if s == emptySegment {
		return "", true
	}
	u, err := url.PathUnescape(s)
	if err != nil || u == "" || escapeSegment(u) != s {
		return "", false
	}
	return u, true
}
