// Package static holds the shopper pages' CSS and JavaScript, embedded in
// the binary. No build step: what is here is what browsers get.
package static

import "embed"

// Files are the static assets, served under /static/.
//
//go:embed *.css *.js
var Files embed.FS
