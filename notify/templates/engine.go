package templates

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"sync"
	"time"

	"github.com/osteele/liquid/expressions"
	"github.com/osteele/liquid/parser"
	"github.com/osteele/liquid/render"
	"github.com/trackd/trackd/notify"
)

// Limits bound what one template may cost. A template is marketing's code
// running inside the notifier, so each bound is well above what a message
// needs and well below what would hurt the process.
type Limits struct {
	// MaxTemplateBytes is the largest part a template may have: a long
	// HTML email is 20 KiB.
	MaxTemplateBytes int
	// MaxOutputBytes is the largest rendered part: Gmail clips HTML mail
	// past 102 KiB, so 256 KiB is only ever reached by a runaway loop.
	MaxOutputBytes int
	// MaxValueBytes is the largest string or array a filter or capture may
	// build; with it a loop of doubling appends stops at once.
	MaxValueBytes int
	// MaxItems is the longest array a filter may build or take (a range
	// included): orders have tens of items, not thousands.
	MaxItems int
	// MaxIterations is how many loop iterations and assignments one part
	// may run: ten thousand is a hundred times an order's items.
	MaxIterations int
	// RenderTimeout bounds rendering a whole message; a notifier renders
	// thousands a minute, so a second is generous.
	RenderTimeout time.Duration
}

// DefaultLimits returns the limits trackd runs with.
func DefaultLimits() Limits {
	return Limits{
		MaxTemplateBytes: 64 << 10,
		MaxOutputBytes:   256 << 10,
		MaxValueBytes:    256 << 10,
		MaxItems:         1000,
		MaxIterations:    10000,
		RenderTimeout:    time.Second,
	}
}

// Parts are a template's sources: Subject, HTML and Text for email, Body
// for SMS.
type Parts struct {
	Subject string `json:"subject,omitempty"`
	HTML    string `json:"html,omitempty"`
	Text    string `json:"text,omitempty"`
	Body    string `json:"body,omitempty"`
}

// Rendered is a rendered message. Email fills Subject, HTML and Text; SMS
// fills Body and its size: Encoding ("GSM-7" or "UCS-2"), Characters (in
// that encoding's units) and Segments.
type Rendered struct {
	Subject    string `json:"subject,omitempty"`
	HTML       string `json:"html,omitempty"`
	Text       string `json:"text,omitempty"`
	Body       string `json:"body,omitempty"`
	Encoding   string `json:"encoding,omitempty"`
	Characters int    `json:"characters,omitempty"`
	Segments   int    `json:"segments,omitempty"`
}

// Problem is something wrong with a template: in which part, on which
// line (1-based; 0 when it is about the whole part) and what.
type Problem struct {
	Part    string `json:"part"`
	Line    int    `json:"line"`
	Message string `json:"message"`
}

func (p Problem) String() string {
	if p.Line > 0 {
		return fmt.Sprintf("%s, line %d: %s", p.Part, p.Line, p.Message)
	}
	return p.Part + ": " + p.Message
}

// RenderError is a template that could not be rendered: a syntax error,
// a failing filter, or a limit reached.
type RenderError struct{ Problems []Problem }

func (e *RenderError) Error() string {
	msgs := make([]string, len(e.Problems))
	for i, p := range e.Problems {
		msgs[i] = p.String()
	}
	return "render template: " + strings.Join(msgs, "; ")
}

// Engine renders and validates templates. It is safe for concurrent use.
type Engine struct {
	lim        Limits
	text, html render.Config
	schema     *shape
	filters    map[string]bool // the filters templates may use

	mu    sync.Mutex
	cache map[cacheKey]compiled
}

type cacheKey struct {
	html bool
	src  string
}

type compiled struct {
	node render.Node
	err  parser.Error
}

// maxCached bounds the compiled-template cache: 88 defaults plus what
// marketing has saved fits many times over.
const maxCached = 512

// NewEngine returns an engine with the given limits.
func NewEngine(lim Limits) *Engine {
	filters := map[string]bool{}
	for _, f := range FilterNames() {
		filters[f] = true
	}
	return &Engine{
		lim:     lim,
		text:    newLiquidConfig(false, lim),
		html:    newLiquidConfig(true, lim),
		schema:  shapeOf(SampleData(notify.DefaultLocale, "in_transit", false, false).bindings()),
		filters: filters,
		cache:   map[cacheKey]compiled{},
	}
}

// Limits returns the engine's limits.
func (e *Engine) Limits() Limits { return e.lim }

// Render renders a message for channel from parts and d, within the
// engine's limits. Template errors are a *RenderError listing them.
func (e *Engine) Render(channel notify.Channel, parts Parts, d Data) (Rendered, error) {
	return e.RenderContext(context.Background(), channel, parts, d)
}

// RenderContext is Render stopping early when ctx ends.
func (e *Engine) RenderContext(ctx context.Context, channel notify.Channel, parts Parts, d Data) (Rendered, error) {
	deadline := time.Now().Add(e.lim.RenderTimeout)
	r := renderRun{e: e, vars: d.bindings(), deadline: deadline, done: ctx.Done()}
	var out Rendered
	switch channel {
	case notify.Email:
		out.Subject = cleanSubject(r.part("subject", parts.Subject, false))
		out.HTML = r.part("html", parts.HTML, true)
		out.Text = cleanText(r.part("text", parts.Text, false))
	case notify.SMS:
		out.Body = cleanText(r.part("body", parts.Body, false))
		out.Encoding, out.Characters, out.Segments = SMSSegments(out.Body)
	default:
		return Rendered{}, fmt.Errorf("render template: unknown channel %q", channel)
	}
	if len(r.problems) > 0 {
		return Rendered{}, &RenderError{r.problems}
	}
	return out, nil
}

type renderRun struct {
	e        *Engine
	vars     map[string]any
	deadline time.Time
	done     <-chan struct{}
	problems []Problem
}

// part renders one part, recording what went wrong.
func (r *renderRun) part(name, src string, html bool) string {
	out, p := r.e.renderPart(name, src, html, r.vars, r.deadline, r.done)
	if p != nil {
		r.problems = append(r.problems, *p)
	}
	return out
}

func (e *Engine) renderPart(name, src string, html bool, vars map[string]any, deadline time.Time, done <-chan struct{}) (out string, problem *Problem) {
	if len(src) > e.lim.MaxTemplateBytes {
		return "", &Problem{Part: name, Message: fmt.Sprintf("is larger than %d bytes", e.lim.MaxTemplateBytes)}
	}
	node, perr := e.compile(src, html)
	if perr != nil {
		p := problemOf(name, perr)
		return "", &p
	}
	b := &budget{deadline: deadline, done: done, iterations: e.lim.MaxIterations, lim: e.lim}
	bound := make(map[string]any, len(vars)+1)
	for k, v := range vars {
		bound[k] = v
	}
	bound[budgetKey] = b
	w := &cappedWriter{max: e.lim.MaxOutputBytes, budget: b, what: "the rendered " + name}
	cfg := &e.text
	if html {
		cfg = &e.html
	}
	defer func() {
		// liquid panics on some errors inside filters (a runtime error is
		// re-thrown); a template must not take the notifier down with it.
		if v := recover(); v != nil {
			out, problem = "", &Problem{Part: name, Message: fmt.Sprintf("the template failed: %v", v)}
		}
	}()
	if err := render.Render(node, w, bound, *cfg); err != nil {
		p := problemOf(name, err)
		return "", &p
	}
	if b.err != nil {
		return "", &Problem{Part: name, Message: b.err.Error()}
	}
	return w.buf.String(), nil
}

// compile returns src compiled, from the cache when it can.
func (e *Engine) compile(src string, html bool) (render.Node, parser.Error) {
	k := cacheKey{html, src}
	e.mu.Lock()
	c, ok := e.cache[k]
	e.mu.Unlock()
	if ok {
		return c.node, c.err
	}
	cfg, text := &e.text, src
	if html {
		// Errors are reported against the source as written: the rewrite
		// would only add noise to their messages.
		if _, err := compile(&e.text, src); err != nil {
			c = compiled{err: err}
		} else {
			cfg, text = &e.html, rewriteHTML(src)
		}
	}
	if c.err == nil {
		c.node, c.err = compile(cfg, text)
	}
	e.mu.Lock()
	if len(e.cache) >= maxCached {
		clear(e.cache)
	}
	e.cache[k] = c
	e.mu.Unlock()
	return c.node, c.err
}

var liquidErrorRE = regexp.MustCompile(`^Liquid error(?: \(line \d+\))?: `)

// problemOf turns a liquid error into a Problem: its line, and its message
// without liquid's "Liquid error (line n): ... in <source>" framing.
func problemOf(part string, err error) Problem {
	p := Problem{Part: part}
	if le, ok := err.(interface{ LineNumber() int }); ok {
		p.Line = le.LineNumber()
	}
	var (
		limit  *LimitError
		filter expressions.FilterError
	)
	inner := err
	for range 64 {
		c, ok := inner.(interface{ Cause() error })
		if !ok || c.Cause() == nil || c.Cause() == inner {
			break
		}
		inner = c.Cause()
	}
	switch {
	case errors.As(inner, &limit):
		p.Message = limit.Message
	case errors.As(inner, &filter) && errors.As(filter.Err, &limit):
		p.Message = limit.Message
	case errors.As(inner, &filter):
		p.Message = fmt.Sprintf("filter %s: %v", filter.FilterName, filter.Err)
	case isCause(err, errLoopBreak):
		p.Message = errLoopBreak.Error()
	case isCause(err, errLoopContinue):
		p.Message = errLoopContinue.Error()
	default:
		p.Message = cleanMessage(inner.Error())
	}
	return p
}

func cleanMessage(msg string) string {
	msg = liquidErrorRE.ReplaceAllString(msg, "")
	for _, ctx := range []string{" in {{", " in {%"} {
		if i := strings.Index(msg, ctx); i > 0 {
			msg = msg[:i]
		}
	}
	msg = strings.ReplaceAll(msg, htmlEscapeFilter, "")
	return strings.TrimSpace(msg)
}

// cleanSubject makes a subject one header-safe line: control characters
// (CR and LF above all: they would start a new header) become spaces, and
// runs of space become one.
func cleanSubject(s string) string {
	s = strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f || r == 0x85 || r == '\u2028' || r == '\u2029' {
			return ' '
		}
		return r
	}, s)
	return strings.Join(strings.Fields(s), " ")
}

var blankLinesRE = regexp.MustCompile(`\n{3,}`)

// cleanText tidies what tags leave behind in plain text: trailing spaces,
// runs of blank lines, and blank lines at either end.
func cleanText(s string) string {
	s = strings.ReplaceAll(s, "\r\n", "\n")
	lines := strings.Split(s, "\n")
	for i, l := range lines {
		lines[i] = strings.TrimRight(l, " \t\r")
	}
	s = blankLinesRE.ReplaceAllString(strings.Join(lines, "\n"), "\n\n")
	return strings.TrimSpace(s)
}
