package hook

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"math/bits"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Fields is the set of JSON fields a source reads from a payload to route
// it, compiled once. Scan validates a whole body and picks those fields out
// in one pass, without decoding anything else: a typed json.Unmarshal of
// the same fields scans the body twice (once to validate it, once to
// decode) and was half of the ingress handler's CPU.
//
// What Scan yields is what json.Unmarshal into a struct of pointer-to-struct
// objects, string, int64 and json.RawMessage fields would give, keys
// matched the same way (exactly, else by Unicode case folding), the last of
// duplicate keys winning, a value of the wrong type leaving the field as it
// was, null resetting an object: the GitHub source tests Scan against
// json.Unmarshal over its fuzz corpus.
type Fields struct {
	root  *fieldNode
	nodes []*fieldNode
}

// FieldKind is the Go type a field decodes into.
type FieldKind uint8

// Field kinds.
const (
	// Object is a pointer to a struct: an object sets it, null resets it
	// and its fields.
	Object FieldKind = iota + 1
	// String is a string: only strings set it.
	String
	// Int is an int64: only integer numbers in range set it.
	Int
	// Raw is a json.RawMessage: any value sets it, null included.
	Raw
)

// Field is one path of a Fields set: dot-separated object keys ("a.b.c").
// Every parent of a path must be in the set as an Object.
type Field struct {
	Path string
	Kind FieldKind
}

type fieldNode struct {
	index  int
	kind   FieldKind
	exact  map[string]*fieldNode
	folded map[string]*fieldNode
	kids   []*fieldNode
	// lower says every key in exact is lower-case ASCII, so that a
	// lower-case ASCII key that is not one of them folds onto none.
	lower bool
}

// NewFields compiles fields; Values.Index(i) is fields[i]. It panics on a
// path whose parent is missing or not an Object (a programmer error at
// wiring time).
func NewFields(fields ...Field) *Fields {
	f := &Fields{root: &fieldNode{index: -1, kind: Object, lower: true}}
	byPath := map[string]*fieldNode{"": f.root}
	for i, fl := range fields {
		parentPath, key := "", fl.Path
		if dot := strings.LastIndexByte(fl.Path, '.'); dot >= 0 {
			parentPath, key = fl.Path[:dot], fl.Path[dot+1:]
		}
		parent := byPath[parentPath]
		if parent == nil || parent.kind != Object {
			panic("hook: field " + fl.Path + ": its parent is not an Object field")
		}
		n := &fieldNode{index: i, kind: fl.Kind, lower: true}
		for _, c := range []byte(key) {
			if c >= utf8.RuneSelf || (c >= 'A' && c <= 'Z') {
				parent.lower = false
			}
		}
		if parent.exact == nil {
			parent.exact, parent.folded = map[string]*fieldNode{}, map[string]*fieldNode{}
		}
		parent.exact[key] = n
		parent.folded[string(foldName(nil, []byte(key)))] = n
		parent.kids = append(parent.kids, n)
		byPath[fl.Path] = n
		f.nodes = append(f.nodes, n)
	}
	return f
}

// Values are what Scan found: per field, its raw JSON value, nil when the
// field is not set (a set value is never empty).
type Values struct {
	raw [][]byte
}

// Raw returns field i's raw JSON value and whether it is set.
func (v *Values) Raw(i int) ([]byte, bool) { return v.raw[i], v.raw[i] != nil }

// Set reports whether field i is set: for an Object, present and not reset
// by a later null.
func (v *Values) Set(i int) bool { return v.raw[i] != nil }

// String returns String field i ("" when unset), decoded as json.Unmarshal
// decodes strings.
func (v *Values) String(i int) string {
	raw := v.raw[i]
	if len(raw) < 2 {
		return ""
	}
	if inner := raw[1 : len(raw)-1]; !containsByte(inner, '\\') && utf8.Valid(inner) {
		return string(inner)
	}
	var s string
	_ = json.Unmarshal(raw, &s) // a valid JSON string always decodes
	return s
}

// Int returns Int field i (0 when unset).
func (v *Values) Int(i int) int64 {
	if v.raw[i] == nil {
		return 0
	}
	n, _ := strconv.ParseInt(string(v.raw[i]), 10, 64) // checked when set
	return n
}

func containsByte(b []byte, c byte) bool {
	for _, x := range b {
		if x == c {
			return true
		}
	}
	return false
}

// ErrNotJSON is what Scan returns for a body that is not one valid JSON
// value.
var ErrNotJSON = errors.New("hook: body is not valid JSON")

// Scan validates body as exactly one JSON value, as json.Valid does
// (including its nesting limit), and returns the fields' values. When the
// body is not an object, no field is set.
func (f *Fields) Scan(body []byte) (Values, error) {
	s := scanner{b: body, raw: make([][]byte, len(f.nodes))}
	s.space()
	if !s.value(f.root) {
		return Values{}, ErrNotJSON
	}
	s.space()
	if s.i != len(s.b) {
		return Values{}, ErrNotJSON
	}
	return Values{raw: s.raw}, nil
}

// maxDepth is encoding/json's nesting limit.
const maxDepth = 10000

type scanner struct {
	b     []byte
	i     int
	depth int
	raw   [][]byte // the fields' values, by index
}

func (s *scanner) space() {
	if s.i < len(s.b) && s.b[s.i] > ' ' {
		return // compact JSON: no space between tokens
	}
	for s.i < len(s.b) {
		switch s.b[s.i] {
		case ' ', '\t', '\n', '\r':
			s.i++
		default:
			return
		}
	}
}

// value scans one value; n, when not nil, is the field it sets (the root
// for the body itself).
func (s *scanner) value(n *fieldNode) bool {
	if s.i >= len(s.b) {
		return false
	}
	start := s.i
	kind := s.b[s.i]
	var ok bool
	switch {
	case kind == '{':
		child := n
		if n != nil && n.kind != Object {
			child = nil // not read into: the field takes the whole value or nothing
		}
		ok = s.object(child)
	case kind == '[':
		ok = s.array()
	case kind == '"':
		ok = s.str()
	case kind == '-' || (kind >= '0' && kind <= '9'):
		kind = '0'
		ok = s.number()
	case kind == 't':
		ok = s.literal("true")
	case kind == 'f':
		ok = s.literal("false")
	case kind == 'n':
		ok = s.literal("null")
	}
	if ok && n != nil && n.index >= 0 {
		s.assign(n, kind, s.b[start:s.i])
	}
	return ok
}

// assign stores a value of the given kind (its first byte; '0' for a
// number) into field n as json.Unmarshal would: a pointer to a struct is
// allocated by any value but null (which resets it), even one of the
// wrong type; a string or int64 takes only a value of its type; a
// json.RawMessage takes anything.
func (s *scanner) assign(n *fieldNode, kind byte, raw []byte) {
	set := false
	switch n.kind {
	case Object:
		if kind == 'n' {
			s.raw[n.index] = nil
			n.reset(s.raw)
			return
		}
		set = true
	case String:
		set = kind == '"'
	case Int:
		set = kind == '0' && isInt64(raw)
	case Raw:
		set = true
	}
	if set {
		s.raw[n.index] = raw
	}
}

// reset unsets n's descendants: json.Unmarshal allocates a new struct for
// an object that follows a null.
func (n *fieldNode) reset(raw [][]byte) {
	for _, k := range n.kids {
		raw[k.index] = nil
		k.reset(raw)
	}
}

func isInt64(num []byte) bool {
	_, err := strconv.ParseInt(string(num), 10, 64)
	return err == nil
}

func (s *scanner) literal(lit string) bool {
	if len(s.b)-s.i < len(lit) || string(s.b[s.i:s.i+len(lit)]) != lit {
		return false
	}
	s.i += len(lit)
	return true
}

func (s *scanner) object(n *fieldNode) bool {
	if s.depth++; s.depth > maxDepth {
		return false
	}
	s.i++ // '{'
	s.space()
	if s.i < len(s.b) && s.b[s.i] == '}' {
		s.i++
		s.depth--
		return true
	}
	for {
		if s.i >= len(s.b) || s.b[s.i] != '"' {
			return false
		}
		kstart := s.i
		if !s.str() {
			return false
		}
		var child *fieldNode
		if n != nil && n.kind == Object && n.exact != nil {
			child = n.lookup(s.b[kstart+1 : s.i-1])
		}
		s.space()
		if s.i >= len(s.b) || s.b[s.i] != ':' {
			return false
		}
		s.i++
		s.space()
		if !s.value(child) {
			return false
		}
		s.space()
		if s.i >= len(s.b) {
			return false
		}
		switch s.b[s.i] {
		case ',':
			s.i++
			s.space()
		case '}':
			s.i++
			s.depth--
			return true
		default:
			return false
		}
	}
}

// lookup finds the field a key names: exactly, else as json.Unmarshal
// falls back, by case folding.
func (n *fieldNode) lookup(key []byte) *fieldNode {
	if c := n.exact[string(key)]; c != nil {
		return c
	}
	plain := true
	for _, c := range key {
		if c == '\\' || c >= utf8.RuneSelf || (c >= 'A' && c <= 'Z') {
			plain = false
			break
		}
	}
	if plain && n.lower {
		// An ASCII key without capitals or escapes folds onto a
		// wanted key only if it is that key.
		return nil
	}
	if containsByte(key, '\\') || !utf8.Valid(key) {
		var k string
		quoted := make([]byte, 0, len(key)+2)
		quoted = append(append(append(quoted, '"'), key...), '"')
		if json.Unmarshal(quoted, &k) != nil {
			return nil
		}
		if c := n.exact[k]; c != nil {
			return c
		}
		key = []byte(k)
	}
	var arr [32]byte
	return n.folded[string(foldName(arr[:0], key))]
}

// foldName is encoding/json's key folding: ASCII letters upper-cased, any
// other rune replaced by the smallest rune of its Unicode fold set.
func foldName(out, in []byte) []byte {
	for i := 0; i < len(in); {
		if c := in[i]; c < utf8.RuneSelf {
			if 'a' <= c && c <= 'z' {
				c -= 'a' - 'A'
			}
			out = append(out, c)
			i++
			continue
		}
		r, n := utf8.DecodeRune(in[i:])
		out = utf8.AppendRune(out, foldRune(r))
		i += n
	}
	return out
}

func foldRune(r rune) rune {
	for {
		r2 := unicode.SimpleFold(r)
		if r2 <= r {
			return r2
		}
		r = r2
	}
}

func (s *scanner) array() bool {
	if s.depth++; s.depth > maxDepth {
		return false
	}
	s.i++ // '['
	s.space()
	if s.i < len(s.b) && s.b[s.i] == ']' {
		s.i++
		s.depth--
		return true
	}
	for {
		if !s.value(nil) {
			return false
		}
		s.space()
		if s.i >= len(s.b) {
			return false
		}
		switch s.b[s.i] {
		case ',':
			s.i++
			s.space()
		case ']':
			s.i++
			s.depth--
			return true
		default:
			return false
		}
	}
}

// strPlain marks the bytes a string may hold as they are.
var strPlain = func() (t [256]bool) {
	for c := 0x20; c < 256; c++ {
		t[c] = c != '"' && c != '\\'
	}
	return t
}()

func (s *scanner) str() bool {
	s.i++ // opening quote
	for {
		s.plain()
		if s.i >= len(s.b) {
			return false
		}
		switch s.b[s.i] {
		case '"':
			s.i++
			return true
		case '\\':
			s.i++
			if s.i >= len(s.b) {
				return false
			}
			switch s.b[s.i] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				s.i++
			case 'u':
				if len(s.b)-s.i < 5 {
					return false
				}
				for _, h := range s.b[s.i+1 : s.i+5] {
					if !isHex(h) {
						return false
					}
				}
				s.i += 5
			default:
				return false
			}
		default: // a control character
			return false
		}
	}
}

// plain moves past the bytes a string holds as they are, 8 at a time,
// to the first quote, backslash or control character (or the end).
func (s *scanner) plain() {
	for s.i+8 <= len(s.b) {
		if m := wordSpecial(binary.LittleEndian.Uint64(s.b[s.i:])); m != 0 {
			s.i += bits.TrailingZeros64(m) >> 3
			return
		}
		s.i += 8
	}
	for s.i < len(s.b) && strPlain[s.b[s.i]] {
		s.i++
	}
}

// wordSpecial marks (with its high bit) each byte of x, a little-endian
// word, that is a quote, a backslash or a control character. Bytes above
// a marked one may be marked too (borrows); the lowest mark is always the
// first such byte, and a word without one has none.
func wordSpecial(x uint64) uint64 {
	const ones, highs = 0x0101010101010101, 0x8080808080808080
	zero := func(v uint64) uint64 { return (v - ones) &^ v & highs }
	control := (x - 0x20*ones) &^ x & highs
	return control | zero(x^'"'*ones) | zero(x^'\\'*ones)
}

func isHex(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F'
}

func (s *scanner) number() bool {
	if s.b[s.i] == '-' {
		s.i++
	}
	switch {
	case s.i < len(s.b) && s.b[s.i] == '0':
		s.i++
	case s.i < len(s.b) && s.b[s.i] >= '1' && s.b[s.i] <= '9':
		s.digits()
	default:
		return false
	}
	if s.i < len(s.b) && s.b[s.i] == '.' {
		s.i++
		if !s.digits() {
			return false
		}
	}
	if s.i < len(s.b) && (s.b[s.i] == 'e' || s.b[s.i] == 'E') {
		s.i++
		if s.i < len(s.b) && (s.b[s.i] == '+' || s.b[s.i] == '-') {
			s.i++
		}
		if !s.digits() {
			return false
		}
	}
	return true
}

// digits scans one or more digits.
func (s *scanner) digits() bool {
	start := s.i
	for s.i < len(s.b) && s.b[s.i] >= '0' && s.b[s.i] <= '9' {
		s.i++
	}
	return s.i > start
}
