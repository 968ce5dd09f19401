package email

import (
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/wneessen/go-mail/smtp"
)

// auth logs in with PLAIN, or LOGIN when the server offers only that,
// deciding per connection: go-mail's own discovery leaves PLAIN and LOGIN
// out whenever the connection is not encrypted, loopback included, and
// cannot say why. One auth serves one connection at a time (LOGIN keeps
// its step), so each pooled connection has its own.
type auth struct {
	user, pass string
	// plainOK allows AUTH without TLS: the server is on loopback, or the
	// URL says allow_insecure_auth.
	plainOK bool
	mech    smtp.Auth
}

func (a *auth) Start(server *smtp.ServerInfo) (string, []byte, error) {
	if !server.TLS && !a.plainOK {
		return "", nil, errors.New("refusing AUTH over an unencrypted connection: the server did not offer STARTTLS (use smtps://, or allow_insecure_auth=true if the network is trusted)")
	}
	// The server's name goes to the mechanisms as the host they were made
	// for: they refuse any other, and which host it is was checked above.
	switch {
	case slices.ContainsFunc(server.Auth, mechIs("PLAIN")):
		a.mech = smtp.PlainAuth("", a.user, a.pass, server.Name, true)
	case slices.ContainsFunc(server.Auth, mechIs("LOGIN")):
		a.mech = smtp.LoginAuth(a.user, a.pass, server.Name, true)
	case len(server.Auth) == 0:
		return "", nil, errors.New("the URL has a user but the server offers no AUTH")
	default:
		return "", nil, fmt.Errorf("the server offers AUTH %s; trackd speaks PLAIN and LOGIN", strings.Join(server.Auth, " "))
	}
	return a.mech.Start(server)
}

func (a *auth) Next(fromServer []byte, more bool) ([]byte, error) {
	return a.mech.Next(fromServer, more)
}

func mechIs(name string) func(string) bool {
	return func(m string) bool { return strings.EqualFold(m, name) }
}
