package templates

import (
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/osteele/liquid/parser"
	"github.com/trackd/trackd/notify"
)

// maxSMSSegments is the body length, in segments with sample data, past
// which saving warns: each segment is billed.
const maxSMSSegments = 2

// Validate checks a template as it would be saved: the channel's parts are
// all there (email: subject, html and text; SMS: body) and no other;
// each parses and renders with sample data within the limits (errs); and
// it uses only documented variables (an unknown one is a warning, so a
// typo is caught but a variable added later still saves).
func (e *Engine) Validate(channel notify.Channel, parts Parts) (errs, warnings []Problem) {
	return e.validate(channel, parts, true)
}

// ValidatePartial is Validate for a template being edited: empty parts
// are allowed (a preview of the subject alone is useful).
func (e *Engine) ValidatePartial(channel notify.Channel, parts Parts) (errs, warnings []Problem) {
	return e.validate(channel, parts, false)
}

type partSrc struct {
	name, src string
	html      bool
}

func channelParts(channel notify.Channel, p Parts) (used, unused []partSrc) {
	subject, html, text, body := partSrc{"subject", p.Subject, false}, partSrc{"html", p.HTML, true},
		partSrc{"text", p.Text, false}, partSrc{"body", p.Body, false}
	if channel == notify.SMS {
		return []partSrc{body}, []partSrc{subject, html, text}
	}
	return []partSrc{subject, html, text}, []partSrc{body}
}

func (e *Engine) validate(channel notify.Channel, parts Parts, complete bool) (errs, warnings []Problem) {
	if !channel.Valid() {
		return []Problem{{Part: "channel", Message: fmt.Sprintf("unknown channel %q", channel)}}, nil
	}
	used, unused := channelParts(channel, parts)
	for _, p := range unused {
		if p.src != "" {
			errs = append(errs, Problem{Part: p.name, Message: fmt.Sprintf("%s templates have no %s part", channel, p.name)})
		}
	}
	sample := SampleData(notify.DefaultLocale, "in_transit", false, false).bindings()
	deadline := time.Now().Add(e.lim.RenderTimeout)
	for _, p := range used {
		if strings.TrimSpace(p.src) == "" {
			if complete {
				errs = append(errs, Problem{Part: p.name, Message: "is required"})
			}
			continue
		}
		if len(p.src) > e.lim.MaxTemplateBytes {
			errs = append(errs, Problem{Part: p.name, Message: fmt.Sprintf("is larger than %d bytes", e.lim.MaxTemplateBytes)})
			continue
		}
		if _, err := e.compile(p.src, p.html); err != nil {
			errs = append(errs, problemOf(p.name, err))
			continue
		}
		perrs, pwarns := e.check(p.name, p.src)
		errs, warnings = append(errs, perrs...), append(warnings, pwarns...)
		if len(perrs) > 0 {
			continue
		}
		// Filters are looked up, and their arguments checked, only as the
		// template runs: a trial render finds what parsing cannot.
		out, problem := e.renderPart(p.name, p.src, p.html, sample, deadline, nil)
		if problem != nil {
			errs = append(errs, *problem)
			continue
		}
		if p.name == "body" {
			enc, chars, segs := SMSSegments(cleanText(out))
			if segs > maxSMSSegments {
				warnings = append(warnings, Problem{Part: p.name, Message: fmt.Sprintf(
					"with sample data the message is %d %s characters, %d SMS segments; each segment is billed", chars, enc, segs)})
			}
		}
	}
	return errs, warnings
}

// check walks a parsed part: filters that do not exist are errors,
// variables that are not documented (nor assigned in the template) are
// warnings.
func (e *Engine) check(part, src string) (errs, warnings []Problem) {
	root, err := e.text.Parse(src, parser.SourceLoc{LineNo: 1})
	if err != nil {
		return []Problem{problemOf(part, err)}, nil
	}
	a := analysis{locals: map[string]*shape{"forloop": forloopShape}, filters: e.filters}
	a.collect(root)
	// Definitions first, uses second: a variable assigned anywhere is
	// known everywhere, so no warning depends on the order of branches.
	for _, d := range a.defs {
		a.locals[d.name] = a.shapeOfDef(e.schema, d)
	}
	seen := map[string]bool{}
	for _, u := range a.uses {
		if u.filter != "" {
			if !a.filters[u.filter] {
				errs = append(errs, Problem{Part: part, Line: u.line, Message: fmt.Sprintf("unknown filter %q", u.filter)})
			}
			continue
		}
		if bad := a.unknown(e.schema, u.path); bad != "" {
			key := fmt.Sprint(u.line, bad)
			if !seen[key] {
				seen[key] = true
				warnings = append(warnings, Problem{Part: part, Line: u.line, Message: "unknown variable " + bad})
			}
		}
	}
	sort.SliceStable(errs, func(i, j int) bool { return errs[i].Line < errs[j].Line })
	return errs, warnings
}

type use struct {
	line   int
	path   []string // a variable, or
	filter string   // a filter name
}

type def struct {
	name string
	from []string // the path assigned or looped over, when it is a bare path
	loop bool     // a for loop's variable: an element of from
	text bool     // a capture: text
}

type analysis struct {
	locals  map[string]*shape
	filters map[string]bool
	defs    []def
	uses    []use
}

func (a *analysis) collect(n parser.ASTNode) {
	switch n := n.(type) {
	case *parser.ASTSeq:
		for _, c := range n.Children {
			a.collect(c)
		}
	case *parser.ASTObject:
		a.expr(n.SourceLoc.LineNo, n.Args)
	case *parser.ASTTag:
		a.tag(n.Token)
	case *parser.ASTBlock:
		a.tag(n.Token)
		for _, c := range n.Body {
			a.collect(c)
		}
		for _, c := range n.Clauses {
			a.collect(c)
		}
	}
}

func (a *analysis) tag(t parser.Token) {
	line := t.SourceLoc.LineNo
	switch t.Name {
	case "assign":
		name, expr, _ := strings.Cut(t.Args, "=")
		paths := a.expr(line, expr)
		d := def{name: strings.TrimSpace(name)}
		if len(paths) == 1 && paths[0].whole {
			d.from = paths[0].path
		}
		a.defs = append(a.defs, d)
	case "capture":
		a.defs = append(a.defs, def{name: strings.TrimSpace(t.Args), text: true})
	case "for":
		fields := strings.Fields(t.Args)
		if len(fields) < 3 || fields[1] != "in" {
			return
		}
		_, expr, _ := strings.Cut(t.Args, " in ")
		paths := a.expr(line, expr)
		d := def{name: fields[0], loop: true}
		if len(paths) > 0 && paths[0].first {
			d.from = paths[0].path
		}
		a.defs = append(a.defs, d)
	case "if", "elsif", "unless", "case", "when":
		a.expr(line, t.Args)
	}
}

// exprPath is a variable path found in an expression: whole when it is
// the entire expression, first when it starts it.
type exprPath struct {
	path         []string
	whole, first bool
}

// expr records the variables and filters of one expression.
func (a *analysis) expr(line int, src string) []exprPath {
	toks := lex(src)
	var paths []exprPath
	for i := 0; i < len(toks); i++ {
		t := toks[i]
		afterPipe := i > 0 && toks[i-1].kind == tokPunct && toks[i-1].text == "|"
		switch {
		case (t.kind == tokIdent || t.kind == tokKeyword) && afterPipe:
			a.uses = append(a.uses, use{line: line, filter: t.text})
		case t.kind == tokIdent && !reserved[t.text]:
			path := []string{t.text}
			j := i + 1
			for j < len(toks) {
				switch {
				case toks[j].kind == tokProp:
					path = append(path, toks[j].text)
					j++
					continue
				case toks[j].text == "[" && j+2 < len(toks) && (toks[j+1].kind == tokString || toks[j+1].kind == tokNumber) && toks[j+2].text == "]":
					path = append(path, toks[j+1].text)
					j += 3
					continue
				}
				break
			}
			a.uses = append(a.uses, use{line: line, path: path})
			paths = append(paths, exprPath{path: path, whole: i == 0 && j == len(toks), first: i == 0})
			i = j - 1
		}
	}
	return paths
}

// reserved are words of the expression language, not variables. empty
// and blank are compared against (x == empty); they read as nil.
var reserved = map[string]bool{
	"and": true, "or": true, "contains": true, "in": true, "true": true, "false": true,
	"nil": true, "null": true, "empty": true, "blank": true, "reversed": true,
}

func (a *analysis) shapeOfDef(schema *shape, d def) *shape {
	switch {
	case d.text:
		return scalarShape
	case d.from == nil:
		return anyShape
	}
	s := a.resolve(schema, d.from)
	switch {
	case s == nil:
		return anyShape
	case d.loop && s.array:
		return s.elem
	case d.loop:
		return anyShape
	}
	return s
}

// resolve finds path's shape among locals, then documented variables.
func (a *analysis) resolve(schema *shape, path []string) *shape {
	root := schema
	if l, ok := a.locals[path[0]]; ok {
		root = &shape{fields: map[string]*shape{path[0]: l}}
	}
	s, n := root.lookup(path)
	if n < len(path) {
		return nil
	}
	return s
}

// unknown returns the part of path that does not exist ("shipment.foo"),
// or "" when it all does.
func (a *analysis) unknown(schema *shape, path []string) string {
	root := schema
	if l, ok := a.locals[path[0]]; ok {
		root = &shape{fields: map[string]*shape{path[0]: l}}
	}
	_, n := root.lookup(path)
	if n == len(path) {
		return ""
	}
	return strings.Join(path[:n+1], ".")
}

// Expression tokens, as liquid's scanner splits them.
const (
	tokIdent   = iota // name
	tokKeyword        // name: (a filter with arguments, or limit:)
	tokProp           // .name
	tokString
	tokNumber
	tokPunct
)

type token struct {
	kind int
	text string
}

func isIdentStart(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c == '_'
}

func isIdentChar(c byte) bool {
	return isIdentStart(c) || c >= '0' && c <= '9' || c == '-'
}

// lex splits an expression into tokens, leniently: it only runs on
// templates that parsed.
func lex(src string) []token {
	var toks []token
	for i := 0; i < len(src); {
		c := src[i]
		switch {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r':
			i++
		case c == '"' || c == '\'':
			j := strings.IndexByte(src[i+1:], c)
			if j < 0 {
				return toks
			}
			toks = append(toks, token{tokString, src[i+1 : i+1+j]})
			i += j + 2
		case c >= '0' && c <= '9' || c == '-' && i+1 < len(src) && src[i+1] >= '0' && src[i+1] <= '9':
			j := i + 1
			for j < len(src) && (src[j] >= '0' && src[j] <= '9' || src[j] == '.' && j+1 < len(src) && src[j+1] >= '0' && src[j+1] <= '9') {
				j++
			}
			toks = append(toks, token{tokNumber, src[i:j]})
			i = j
		case isIdentStart(c):
			j := i + 1
			for j < len(src) && isIdentChar(src[j]) {
				j++
			}
			if j < len(src) && src[j] == '?' {
				j++
			}
			if j < len(src) && src[j] == ':' {
				toks = append(toks, token{tokKeyword, src[i:j]})
				i = j + 1
				continue
			}
			toks = append(toks, token{tokIdent, src[i:j]})
			i = j
		case c == '.' && i+1 < len(src) && isIdentStart(src[i+1]):
			j := i + 2
			for j < len(src) && isIdentChar(src[j]) {
				j++
			}
			if j < len(src) && src[j] == '?' {
				j++
			}
			toks = append(toks, token{tokProp, src[i+1 : j]})
			i = j
		case c == '.' && i+1 < len(src) && src[i+1] == '.':
			toks = append(toks, token{tokPunct, ".."})
			i += 2
		default:
			toks = append(toks, token{tokPunct, string(c)})
			i++
		}
	}
	return toks
}
