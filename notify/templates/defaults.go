package templates

import (
	"embed"
	"fmt"
	"io/fs"
	"path"
	"strings"

	"github.com/trackd/trackd/notify"
)

// The shipped templates, laid out for marketing to read:
//
//	defaults/<locale>/email/<trigger>.liquid  sections "=== subject", "=== html", "=== text"
//	defaults/<locale>/sms.liquid               a section "=== <trigger>" per trigger
//	defaults/<locale>/layout.html, layout.txt  the email around each html and text section
//
// A layout's line "<!-- content -->" is replaced by the section, so each
// email reads as one whole template once loaded (that is what the API
// shows and marketing edits).
//
//go:embed defaults
var defaultFiles embed.FS

const layoutMarker = "<!-- content -->"

type key struct {
	trigger notify.Trigger
	channel notify.Channel
	locale  string
}

// Defaults are the templates trackd ships, for every trigger, channel and
// locale.
type Defaults struct{ parts map[key]Parts }

// LoadDefaults reads the shipped templates. It fails when one is missing
// or malformed, which the tests catch before a release can.
func LoadDefaults() (*Defaults, error) {
	d := &Defaults{parts: map[key]Parts{}}
	for _, locale := range notify.Locales {
		dir := path.Join("defaults", locale)
		layoutHTML, err := readLayout(path.Join(dir, "layout.html"))
		if err != nil {
			return nil, err
		}
		layoutText, err := readLayout(path.Join(dir, "layout.txt"))
		if err != nil {
			return nil, err
		}
		sms, err := readSections(path.Join(dir, "sms.liquid"))
		if err != nil {
			return nil, err
		}
		for _, t := range notify.Triggers {
			name := path.Join(dir, "email", string(t)+".liquid")
			email, err := readSections(name)
			if err != nil {
				return nil, err
			}
			for _, s := range []string{"subject", "html", "text"} {
				if email[s] == "" {
					return nil, fmt.Errorf("load default templates: %s: no %q section", name, s)
				}
			}
			d.parts[key{t, notify.Email, locale}] = Parts{
				Subject: email["subject"],
				HTML:    strings.Replace(layoutHTML, layoutMarker, email["html"], 1),
				Text:    strings.Replace(layoutText, layoutMarker, email["text"], 1),
			}
			if sms[string(t)] == "" {
				return nil, fmt.Errorf("load default templates: %s/sms.liquid: no %q section", dir, t)
			}
			d.parts[key{t, notify.SMS, locale}] = Parts{Body: sms[string(t)]}
		}
	}
	return d, nil
}

// Get returns the shipped template for trigger, channel and locale.
func (d *Defaults) Get(trigger notify.Trigger, channel notify.Channel, locale string) (Parts, bool) {
	p, ok := d.parts[key{trigger, channel, locale}]
	return p, ok
}

func readLayout(name string) (string, error) {
	b, err := fs.ReadFile(defaultFiles, name)
	if err != nil {
		return "", fmt.Errorf("load default templates: %w", err)
	}
	if strings.Count(string(b), layoutMarker) != 1 {
		return "", fmt.Errorf("load default templates: %s must have one %q line", name, layoutMarker)
	}
	return string(b), nil
}

// readSections splits a file into its "=== name" sections, each without
// the blank lines around it.
func readSections(name string) (map[string]string, error) {
	b, err := fs.ReadFile(defaultFiles, name)
	if err != nil {
		return nil, fmt.Errorf("load default templates: %w", err)
	}
	sections := map[string]string{}
	var cur string
	var lines []string
	flush := func() {
		if cur != "" {
			sections[cur] = strings.Trim(strings.Join(lines, "\n"), "\n")
		}
	}
	for i, line := range strings.Split(string(b), "\n") {
		if s, ok := strings.CutPrefix(line, "=== "); ok {
			flush()
			cur, lines = strings.TrimSpace(s), nil
			if _, dup := sections[cur]; dup {
				return nil, fmt.Errorf("load default templates: %s:%d: section %q again", name, i+1, cur)
			}
			continue
		}
		if cur == "" && strings.TrimSpace(line) != "" {
			return nil, fmt.Errorf("load default templates: %s:%d: text before the first section", name, i+1)
		}
		lines = append(lines, line)
	}
	flush()
	return sections, nil
}
