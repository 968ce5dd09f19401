package sms

import "strings"

// Kind is what a shopper's reply asks for.
type Kind int

const (
	// None is any other message: nothing to do.
	None Kind = iota
	// OptOut stops every message to the sender's number.
	OptOut
	// OptIn undoes an opt-out.
	OptIn
	// Help asks who is texting and how to stop it.
	Help
)

func (k Kind) String() string {
	switch k {
	case OptOut:
		return "opt_out"
	case OptIn:
		return "opt_in"
	case Help:
		return "help"
	default:
		return "none"
	}
}

// keywords are Twilio's default keywords (Messaging's "opt-out keywords"
// support article). Twilio acts on them before trackd hears of them;
// mirroring them keeps trackd from even trying to send against an opt-out,
// and from counting the 21610 that would follow as a failure.
var keywords = map[string]Kind{
	"STOP": OptOut, "STOPALL": OptOut, "UNSUBSCRIBE": OptOut, "CANCEL": OptOut,
	"END": OptOut, "QUIT": OptOut, "OPTOUT": OptOut, "REVOKE": OptOut,
	"START": OptIn, "YES": OptIn, "UNSTOP": OptIn,
	"HELP": Help, "INFO": Help,
}

// Keyword classifies an inbound message body. Like Twilio, only a message
// that is the keyword alone counts, in any case, surrounding whitespace
// aside: "Stop" opts out, "please stop" does not, as Twilio would not
// have blocked the number either.
func Keyword(body string) Kind {
	s := strings.TrimSpace(body)
	if len(s) > len("UNSUBSCRIBE") {
		return None
	}
	return keywords[strings.ToUpper(s)]
}
