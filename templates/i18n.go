// Package templates holds the templ components of the shopper pages and the
// console, and the words they use in each language.
package templates

import (
	"strings"

	"golang.org/x/text/language"
)

// Lang is a language the pages are written in.
type Lang string

// The languages the pages speak; English is the fallback.
const (
	English Lang = "en"
	Spanish Lang = "es"
	French  Lang = "fr"
	German  Lang = "de"
)

var langs = []Lang{English, Spanish, French, German}

var matcher = language.NewMatcher([]language.Tag{language.English, language.Spanish, language.French, language.German})

// PickLang chooses the page's language: the order's customer locale when
// trackd speaks it, else the browser's Accept-Language, else English.
func PickLang(customerLocale, acceptLanguage string) Lang {
	if customerLocale != "" {
		if t, err := language.Parse(customerLocale); err == nil {
			if l, conf := matchLang(t); conf {
				return l
			}
		}
	}
	tags, _, err := language.ParseAcceptLanguage(acceptLanguage)
	if err == nil && len(tags) > 0 {
		_, i, conf := matcher.Match(tags...)
		if conf != language.No {
			return langs[i]
		}
	}
	return English
}

func matchLang(t language.Tag) (Lang, bool) {
	_, i, conf := matcher.Match(t)
	return langs[i], conf != language.No
}

// T returns the message key in l, falling back to English, then to the key
// itself (so a missing translation shows up, rather than an empty string).
func (l Lang) T(key string) string {
	for _, cat := range []map[Lang]map[string]string{pageMessages, lookupMessages} {
		if m, ok := cat[l][key]; ok {
			return m
		}
	}
	for _, cat := range []map[Lang]map[string]string{pageMessages, lookupMessages} {
		if m, ok := cat[English][key]; ok {
			return m
		}
	}
	return key
}

// Code is the language's BCP 47 code, for <html lang>.
func (l Lang) Code() string { return strings.ToLower(string(l)) }
