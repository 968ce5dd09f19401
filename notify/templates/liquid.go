package templates

import (
	"errors"
	"fmt"
	"html"
	"io"
	"reflect"
	"regexp"
	"sort"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/osteele/liquid/expressions"
	"github.com/osteele/liquid/filters"
	"github.com/osteele/liquid/parser"
	"github.com/osteele/liquid/render"
	"github.com/osteele/liquid/values"
)

// Marketing's templates run on a Liquid configuration of our own rather
// than liquid.NewEngine's: the standard one can read files ({% include %}),
// has no budget (a {% for %} over (1..100000000) runs for minutes, and
// filters can build gigabyte strings), and no auto-escaping. Here the tags
// and filters are a whitelist, loops and assignments spend a per-render
// budget, filter results are size-checked, and in HTML every {{ output }}
// is escaped.

// budgetKey holds the render's *budget in the bindings. It is not a Liquid
// identifier, so no template can read or replace it.
const budgetKey = "\x00budget"

// htmlEscapeFilter is appended to every {{ output }} of an HTML part.
// Templates cannot undo it: it is the last filter, and it only lets
// through what trackd itself escaped (safeHTML).
const htmlEscapeFilter = "_trackd_html"

var (
	errLoopBreak    = errors.New("break outside a for loop")
	errLoopContinue = errors.New("continue outside a for loop")
)

// LimitError is a render stopped by one of the Limits.
type LimitError struct{ Message string }

func (e *LimitError) Error() string { return e.Message }

// safeHTML is text trackd has escaped (or markup from the template itself,
// in a capture): the HTML output filter writes it as it is.
type safeHTML string

// budget is what one render of one part may still spend.
type budget struct {
	deadline   time.Time
	done       <-chan struct{}
	iterations int
	lim        Limits
	err        error // the first limit hit; sticky
}

// spend charges one unit of work (a loop iteration, an assignment) and
// says whether the render must stop.
func (b *budget) spend(iterations int) error {
	if b.err != nil {
		return b.err
	}
	b.iterations -= iterations
	switch {
	case b.iterations < 0:
		b.err = &LimitError{fmt.Sprintf("the template loops more than %d times", b.lim.MaxIterations)}
	case time.Now().After(b.deadline):
		b.err = &LimitError{fmt.Sprintf("rendering took longer than %s", b.lim.RenderTimeout)}
	default:
		select {
		case <-b.done:
			b.err = &LimitError{"rendering was cancelled"}
		default:
		}
	}
	return b.err
}

func budgetOf(ctx render.Context) *budget {
	if b, ok := ctx.Get(budgetKey).(*budget); ok {
		return b
	}
	// Unreachable through Render, which always binds one; an empty budget
	// stops at once rather than running unbounded.
	return &budget{err: &LimitError{"no render budget"}}
}

// cappedWriter keeps at most max bytes. Past that it records the limit in
// the budget and drops the rest, without returning an error: liquid panics
// when a write fails while it flushes.
type cappedWriter struct {
	buf    strings.Builder
	max    int
	budget *budget
	what   string
}

func (w *cappedWriter) Write(p []byte) (int, error) {
	if w.budget.err != nil {
		return len(p), nil
	}
	if w.buf.Len()+len(p) > w.max {
		w.budget.err = &LimitError{fmt.Sprintf("%s is larger than %d bytes", w.what, w.max)}
		return len(p), nil
	}
	return w.buf.Write(p)
}

// newLiquidConfig returns the tags and filters templates may use; html
// selects the HTML part's escaping filters and capture.
func newLiquidConfig(html bool, lim Limits) render.Config {
	cfg := render.NewConfig()
	cfg.AddTag("assign", assignTag)
	cfg.AddTag("break", loopControlTag(errLoopBreak))
	cfg.AddTag("continue", loopControlTag(errLoopContinue))
	cfg.AddBlock("capture").Compiler(captureCompiler(html, lim))
	cfg.AddBlock("case").Clause("when").Clause("else").Compiler(caseCompiler)
	// The parser itself skips comment and raw bodies once they are defined.
	cfg.AddBlock("comment")
	cfg.AddBlock("raw")
	cfg.AddBlock("for").Clause("else").Compiler(forCompiler)
	cfg.AddBlock("if").Clause("else").Clause("elsif").Compiler(ifCompiler(true))
	cfg.AddBlock("unless").Clause("else").Compiler(ifCompiler(false))
	for name, fn := range filterSet(html, lim) {
		cfg.AddFilter(name, fn)
	}
	return cfg
}

// FilterNames lists the filters templates may use.
func FilterNames() []string {
	var names []string
	for name := range filterSet(false, DefaultLimits()) {
		names = append(names, name)
	}
	sort.Strings(names)
	return names
}

// TagNames lists the tags templates may use.
func TagNames() []string {
	return []string{"assign", "break", "capture", "case", "comment", "continue", "for", "if", "raw", "unless"}
}

// allowedFilters are the standard filters templates may use. Left out:
// json and inspect (they dump whole values), type, and url_decode (no use
// in a message).
var allowedFilters = []string{
	"abs", "append", "capitalize", "ceil", "compact", "concat", "date", "default", "divided_by",
	"downcase", "escape", "escape_once", "first", "floor", "last", "lstrip", "map", "minus",
	"modulo", "newline_to_br", "plus", "prepend", "remove", "remove_first", "replace_first",
	"reverse", "round", "rstrip", "size", "slice", "sort", "sort_natural", "split", "strip",
	"strip_html", "strip_newlines", "times", "truncate", "truncatewords", "uniq", "upcase",
	"url_encode",
}

// recorder collects the standard filters so they can be whitelisted and
// wrapped one by one.
type recorder map[string]any

func (r recorder) AddFilter(name string, fn any) { r[name] = fn }

// filterSet returns the filters, each wrapped by guard; join and replace
// are trackd's own because their result can be far larger than their
// arguments, so their size is checked before it is built.
func filterSet(htmlPart bool, lim Limits) map[string]any {
	std := recorder{}
	filters.AddStandardFilters(std)
	out := map[string]any{}
	for _, name := range allowedFilters {
		out[name] = std[name]
	}
	out["join"] = joinFilter(lim)
	out["replace"] = replaceFilter(lim)
	if htmlPart {
		// The author asked for escaping; the output filter must not escape
		// the result a second time.
		out["escape"] = func(s string) safeHTML { return safeHTML(html.EscapeString(s)) }
		out["escape_once"] = func(s string) safeHTML {
			return safeHTML(html.EscapeString(html.UnescapeString(s)))
		}
		out["newline_to_br"] = func(s string) safeHTML {
			return safeHTML(strings.ReplaceAll(html.EscapeString(s), "\n", "<br />\n"))
		}
		out[htmlEscapeFilter] = escapeOutput
	}
	for name, fn := range out {
		out[name] = guard(name, fn, lim)
	}
	return out
}

func joinFilter(lim Limits) func([]any, func(string) string) (string, error) {
	return func(a []any, sep func(string) string) (string, error) {
		s := sep(" ")
		parts := make([]string, 0, len(a))
		size := 0
		for _, v := range a {
			if v == nil {
				continue
			}
			p := fmt.Sprint(v)
			size += len(p) + len(s)
			if size > lim.MaxValueBytes {
				return "", &LimitError{fmt.Sprintf("join: the result is larger than %d bytes", lim.MaxValueBytes)}
			}
			parts = append(parts, p)
		}
		return strings.Join(parts, s), nil
	}
}

func replaceFilter(lim Limits) func(s, old, repl string) (string, error) {
	return func(s, old, repl string) (string, error) {
		n := strings.Count(s, old) // counts rune boundaries when old is ""
		if old == "" {
			n = utf8.RuneCountInString(s) + 1
		}
		if size := len(s) + n*(len(repl)-len(old)); size > lim.MaxValueBytes {
			return "", &LimitError{fmt.Sprintf("replace: the result is larger than %d bytes", lim.MaxValueBytes)}
		}
		return strings.ReplaceAll(s, old, repl), nil
	}
}

// escapeOutput is the HTML part's output filter.
func escapeOutput(v any) any {
	if s, ok := v.(safeHTML); ok {
		return string(s)
	}
	var b strings.Builder
	writeValue(&b, v)
	return html.EscapeString(b.String())
}

// writeValue writes v as liquid writes a {{ value }}.
func writeValue(b *strings.Builder, v any) {
	v = values.ToLiquid(v)
	switch v := v.(type) {
	case nil:
		return
	case string:
		b.WriteString(v)
		return
	case safeHTML:
		b.WriteString(string(v))
		return
	case time.Time:
		b.WriteString(v.Format("2006-01-02 15:04:05 -0700"))
		return
	case []byte:
		b.Write(v)
		return
	}
	rv := reflect.ValueOf(v)
	switch rv.Kind() {
	case reflect.Array, reflect.Slice:
		for i := range rv.Len() {
			writeValue(b, rv.Index(i).Interface())
		}
	case reflect.Ptr:
		if !rv.IsNil() {
			writeValue(b, rv.Elem().Interface())
		}
	default:
		fmt.Fprint(b, v)
	}
}

var (
	anyType   = reflect.TypeOf((*any)(nil)).Elem()
	errorType = reflect.TypeOf((*error)(nil)).Elem()
)

// guard wraps a filter so that its array arguments are size-checked before
// liquid converts them (a range (1..100000000) would become a slice of a
// hundred million items), and its result is checked after: no value a
// template builds gets larger than Limits.MaxValueBytes or
// Limits.MaxItems, so no loop of doubling appends can exhaust memory.
func guard(name string, fn any, lim Limits) any {
	fv := reflect.ValueOf(fn)
	ft := fv.Type()
	ins := make([]reflect.Type, ft.NumIn())
	checkIn := make([]bool, ft.NumIn())
	for i := range ins {
		ins[i] = ft.In(i)
		if k := ins[i].Kind(); (k == reflect.Slice || k == reflect.Array) && !(ft.IsVariadic() && i == len(ins)-1) {
			ins[i], checkIn[i] = anyType, true
		}
	}
	wt := reflect.FuncOf(ins, []reflect.Type{ft.Out(0), errorType}, ft.IsVariadic())
	fail := func(err error) []reflect.Value {
		return []reflect.Value{reflect.Zero(ft.Out(0)), reflect.ValueOf(&err).Elem()}
	}
	return reflect.MakeFunc(wt, func(args []reflect.Value) []reflect.Value {
		call := make([]reflect.Value, len(args))
		for i, a := range args {
			if !checkIn[i] {
				call[i] = a
				continue
			}
			v := a.Interface()
			if v == nil {
				call[i] = reflect.Zero(ft.In(i))
				continue
			}
			if err := checkSize(name, v, lim); err != nil {
				return fail(err)
			}
			if r, ok := v.(values.Range); ok && r.Len() <= 0 {
				v = []any{} // (5..1) is empty; liquid would make a slice of negative size
			}
			c, err := values.Convert(v, ft.In(i))
			if err != nil {
				return fail(fmt.Errorf("%s: %w", name, err))
			}
			call[i] = reflect.ValueOf(c)
		}
		var out []reflect.Value
		if ft.IsVariadic() {
			out = fv.CallSlice(call)
		} else {
			out = fv.Call(call)
		}
		if len(out) == 2 && !out[1].IsNil() {
			return []reflect.Value{out[0], out[1]}
		}
		if err := checkSize(name, out[0].Interface(), lim); err != nil {
			return fail(err)
		}
		return []reflect.Value{out[0], reflect.Zero(errorType)}
	}).Interface()
}

// checkSize refuses values over the limits.
func checkSize(filter string, v any, lim Limits) error {
	if r, ok := v.(values.Range); ok {
		if r.Len() > lim.MaxItems {
			return &LimitError{fmt.Sprintf("%s: the range has more than %d items", filter, lim.MaxItems)}
		}
		return nil
	}
	items, bytes := measure(v, lim)
	switch {
	case items > lim.MaxItems:
		return &LimitError{fmt.Sprintf("%s: the result has more than %d items", filter, lim.MaxItems)}
	case bytes > lim.MaxValueBytes:
		return &LimitError{fmt.Sprintf("%s: the result is larger than %d bytes", filter, lim.MaxValueBytes)}
	}
	return nil
}

// measure counts v's items and bytes, stopping early once either is over
// its limit.
func measure(v any, lim Limits) (items, bytes int) {
	switch v := v.(type) {
	case nil:
		return 0, 0
	case string:
		return 0, len(v)
	case safeHTML:
		return 0, len(v)
	case []byte:
		return 0, len(v)
	}
	rv := reflect.ValueOf(v)
	switch rv.Kind() {
	case reflect.Slice, reflect.Array:
		items = rv.Len()
		for i := 0; i < rv.Len() && items <= lim.MaxItems && bytes <= lim.MaxValueBytes; i++ {
			n, b := measure(rv.Index(i).Interface(), lim)
			items, bytes = items+n, bytes+b+1
		}
	case reflect.Map:
		items = rv.Len()
		iter := rv.MapRange()
		for iter.Next() && items <= lim.MaxItems && bytes <= lim.MaxValueBytes {
			n, b := measure(iter.Value().Interface(), lim)
			items, bytes = items+n, bytes+b+len(fmt.Sprint(iter.Key().Interface()))
		}
	default:
		bytes = 8
	}
	return items, bytes
}

// Tags.

func assignTag(args string) (func(io.Writer, render.Context) error, error) {
	stmt, err := expressions.ParseStatement(expressions.AssignStatementSelector, args)
	if err != nil {
		return nil, err
	}
	a := stmt.Assignment
	return func(_ io.Writer, ctx render.Context) error {
		if err := budgetOf(ctx).spend(1); err != nil {
			return err
		}
		v, err := ctx.Evaluate(a.ValueFn)
		if err != nil {
			return err
		}
		ctx.Set(a.Variable, v)
		return nil
	}, nil
}

func loopControlTag(sentinel error) render.TagCompiler {
	return func(args string) (func(io.Writer, render.Context) error, error) {
		if strings.TrimSpace(args) != "" {
			return nil, fmt.Errorf("%s takes no arguments", strings.Fields(sentinel.Error())[0])
		}
		return func(_ io.Writer, ctx render.Context) error { return ctx.WrapError(sentinel) }, nil
	}
}

var identifierRE = regexp.MustCompile(`^[A-Za-z_][\w-]*$`)

func captureCompiler(htmlPart bool, lim Limits) render.BlockCompiler {
	return func(node render.BlockNode) (func(io.Writer, render.Context) error, error) {
		name := strings.TrimSpace(node.Args)
		if !identifierRE.MatchString(name) {
			return nil, fmt.Errorf("capture needs a variable name, as in {%% capture greeting %%}")
		}
		return func(_ io.Writer, ctx render.Context) error {
			b := budgetOf(ctx)
			if err := b.spend(1); err != nil {
				return err
			}
			w := &cappedWriter{max: lim.MaxValueBytes, budget: b, what: "the captured text"}
			if err := ctx.RenderChildren(w); err != nil {
				return err
			}
			if b.err != nil {
				return b.err
			}
			if htmlPart {
				// Its outputs were escaped as they were written; the rest is
				// the template's own markup.
				ctx.Set(name, safeHTML(w.buf.String()))
			} else {
				ctx.Set(name, w.buf.String())
			}
			return nil
		}, nil
	}
}

func ifCompiler(polarity bool) render.BlockCompiler {
	return func(node render.BlockNode) (func(io.Writer, render.Context) error, error) {
		type branch struct {
			test expressions.Expression
			body *render.BlockNode
		}
		expr, err := expressions.Parse(node.Args)
		if err != nil {
			return nil, err
		}
		if !polarity {
			expr = expressions.Not(expr)
		}
		branches := []branch{{expr, &node}}
		for i, c := range node.Clauses {
			test := expressions.Constant(true)
			switch {
			case c.Name == "elsif" && polarity:
				if test, err = expressions.Parse(c.Args); err != nil {
					return nil, err
				}
			case c.Name == "else" && i == len(node.Clauses)-1:
			case c.Name == "else":
				return nil, fmt.Errorf("else must be the last branch of %s", node.Name)
			default:
				return nil, fmt.Errorf("%s cannot be inside %s", c.Name, node.Name)
			}
			branches = append(branches, branch{test, c})
		}
		return func(w io.Writer, ctx render.Context) error {
			for _, b := range branches {
				v, err := ctx.Evaluate(b.test)
				if err != nil {
					return err
				}
				if v != nil && v != false {
					return ctx.RenderBlock(w, b.body)
				}
			}
			return nil
		}, nil
	}
}

func caseCompiler(node render.BlockNode) (func(io.Writer, render.Context) error, error) {
	type when struct {
		exprs []expressions.Expression // nil: else
		body  *render.BlockNode
	}
	expr, err := expressions.Parse(node.Args)
	if err != nil {
		return nil, err
	}
	var whens []when
	for i, c := range node.Clauses {
		switch {
		case c.Name == "when":
			stmt, err := expressions.ParseStatement(expressions.WhenStatementSelector, c.Args)
			if err != nil {
				return nil, err
			}
			whens = append(whens, when{stmt.When.Exprs, c})
		case c.Name == "else" && i == len(node.Clauses)-1:
			whens = append(whens, when{nil, c})
		default:
			return nil, errors.New("else must be the last branch of case")
		}
	}
	return func(w io.Writer, ctx render.Context) error {
		v, err := ctx.Evaluate(expr)
		if err != nil {
			return err
		}
		for _, c := range whens {
			if c.exprs == nil {
				return ctx.RenderBlock(w, c.body)
			}
			for _, e := range c.exprs {
				x, err := ctx.Evaluate(e)
				if err != nil {
					return err
				}
				if values.Equal(v, x) {
					return ctx.RenderBlock(w, c.body)
				}
			}
		}
		return nil
	}, nil
}

// iterable is what a for loop walks; values.Range is one, lazily.
type iterable interface {
	Len() int
	Index(int) any
}

type sliceIter reflect.Value

func (s sliceIter) Len() int        { return reflect.Value(s).Len() }
func (s sliceIter) Index(i int) any { return reflect.Value(s).Index(i).Interface() }

type window struct {
	it          iterable
	from, count int
	reversed    bool
}

func (w window) Len() int { return w.count }
func (w window) Index(i int) any {
	if w.reversed {
		i = w.count - 1 - i
	}
	return w.it.Index(w.from + i)
}

func iterate(v any) iterable {
	v = values.ToLiquid(v)
	if it, ok := v.(iterable); ok {
		return it
	}
	if v == nil {
		return nil
	}
	rv := reflect.ValueOf(v)
	switch rv.Kind() {
	case reflect.Array, reflect.Slice:
		return sliceIter(rv)
	case reflect.Map:
		keys := rv.MapKeys()
		pairs := make([]any, 0, len(keys))
		for _, k := range keys {
			pairs = append(pairs, []any{k.Interface(), rv.MapIndex(k).Interface()})
		}
		sort.Slice(pairs, func(i, j int) bool {
			return fmt.Sprint(pairs[i].([]any)[0]) < fmt.Sprint(pairs[j].([]any)[0])
		})
		return sliceIter(reflect.ValueOf(pairs))
	}
	return nil
}

func forCompiler(node render.BlockNode) (func(io.Writer, render.Context) error, error) {
	stmt, err := expressions.ParseStatement(expressions.LoopStatementSelector, node.Args)
	if err != nil {
		return nil, err
	}
	loop := stmt.Loop
	if loop.Cols != nil {
		return nil, errors.New("cols is for tablerow, which templates cannot use")
	}
	var elseBody *render.BlockNode
	for _, c := range node.Clauses {
		if c.Name != "else" || elseBody != nil {
			return nil, errors.New("for takes at most one else")
		}
		elseBody = c
	}
	intArg := func(ctx render.Context, e expressions.Expression, what string) (int, error) {
		v, err := ctx.Evaluate(e)
		if err != nil {
			return 0, err
		}
		n, ok := v.(int)
		if !ok {
			return 0, fmt.Errorf("for: %s must be a whole number", what)
		}
		return n, nil
	}
	return func(w io.Writer, ctx render.Context) error {
		b := budgetOf(ctx)
		if err := b.spend(1); err != nil {
			return err
		}
		v, err := ctx.Evaluate(loop.Expr)
		if err != nil {
			return err
		}
		it := iterate(v)
		n := 0
		if it != nil {
			n = max(it.Len(), 0) // a range (5..1) is empty
		}
		win := window{it: it, count: n, reversed: loop.Reversed}
		if loop.Offset != nil {
			off, err := intArg(ctx, loop.Offset, "offset")
			if err != nil {
				return err
			}
			off = min(max(off, 0), win.count)
			win.from, win.count = off, win.count-off
		}
		if loop.Limit != nil {
			lim, err := intArg(ctx, loop.Limit, "limit")
			if err != nil {
				return err
			}
			win.count = min(max(lim, 0), win.count)
		}
		if win.count == 0 {
			if elseBody != nil {
				return ctx.RenderBlock(w, elseBody)
			}
			return nil
		}
		prevVar, prevLoop := ctx.Get(loop.Variable), ctx.Get("forloop")
		defer func() {
			ctx.Set(loop.Variable, prevVar)
			ctx.Set("forloop", prevLoop)
		}()
		for i := range win.count {
			if err := b.spend(1); err != nil {
				return err
			}
			ctx.Set(loop.Variable, win.Index(i))
			ctx.Set("forloop", map[string]any{
				"first": i == 0, "last": i == win.count-1,
				"index": i + 1, "index0": i,
				"rindex": win.count - i, "rindex0": win.count - i - 1,
				"length": win.count,
			})
			err := ctx.RenderChildren(w)
			switch {
			case err == nil:
			case isCause(err, errLoopBreak):
				return nil
			case isCause(err, errLoopContinue):
			default:
				return err
			}
			if b.err != nil {
				return b.err
			}
		}
		return nil
	}, nil
}

// isCause reports whether target is err or one of the errors liquid
// wrapped it in (liquid wraps with Cause, not Unwrap).
func isCause(err, target error) bool {
	for range 64 {
		if err == nil {
			return false
		}
		if errors.Is(err, target) {
			return true
		}
		c, ok := err.(interface{ Cause() error })
		if !ok {
			return false
		}
		next := c.Cause()
		if next == err {
			return false
		}
		err = next
	}
	return false
}

// Sources.

// tokenRE matches objects and tags as liquid's scanner does with the
// default delimiters (parser.formTokenMatcher), so rewriteHTML sees the
// very tokens the parser will.
var tokenRE = regexp.MustCompile(`\{\{-?\s*(.+?)\s*-?\}\}|\{%-?\s*(\w+)(?:\s+((?:[^%]|%[^}])+?))?\s*-?%\}`)

// rewriteHTML appends the output filter to every {{ object }} outside raw
// and comment blocks. Objects never span lines, so line numbers hold.
func rewriteHTML(src string) string {
	var b strings.Builder
	b.Grow(len(src) + 256)
	last := 0
	inRaw, inComment := false, false
	for _, m := range tokenRE.FindAllStringSubmatchIndex(src, -1) {
		if m[2] < 0 { // a tag
			name := src[m[4]:m[5]]
			switch {
			case inRaw:
				inRaw = name != "endraw"
			case inComment:
				inComment = name != "endcomment"
			case name == "raw":
				inRaw = true
			case name == "comment":
				inComment = true
			}
			continue
		}
		if inRaw || inComment {
			continue
		}
		b.WriteString(src[last:m[3]])
		b.WriteString(" | " + htmlEscapeFilter)
		last = m[3]
	}
	b.WriteString(src[last:])
	return b.String()
}

// compile parses src with cfg, lines counted from 1.
func compile(cfg *render.Config, src string) (render.Node, parser.Error) {
	return cfg.Compile(src, parser.SourceLoc{LineNo: 1})
}
