package server

import (
	"github.com/shoaldb/shoal/commands"
	"github.com/shoaldb/shoal/config"
)

// redacted stands for a secret in the slow log and MONITOR's lines.
var redacted = []byte("(redacted)")

// redactArgs returns args with the secrets Redis 7.0 hides from its slow
// log and monitors replaced by "(redacted)": AUTH's arguments, HELLO's
// AUTH user and password, every argument of ACL SETUSER after the
// subcommand, the values CONFIG SET gives sensitive directives
// (requirepass, masterauth, masteruser) and MIGRATE's credentials. Each
// is hidden as Redis's command hides it while it parses, failed calls
// included. args itself is left alone.
func redactArgs(cmd *commands.Command, args [][]byte) [][]byte {
	r := redaction{args: args}
	switch cmd.Name {
	case "auth":
		// NB: more arguments than AUTH takes fail before it hides any.
		if len(args) <= 3 {
			r.hide(1, len(args))
		}
	case "hello":
		// NB: an unparsable version fails before the options are read.
		if len(args) < 2 || (string(args[1]) != "2" && string(args[1]) != "3") {
			break
		}
		for j := 2; j < len(args); j++ {
			more := len(args) - 1 - j
			switch {
			case commands.Is(args[j], "auth") && more >= 2:
				r.hide(j+1, j+3)
				j += 2
			case commands.Is(args[j], "setname") && more >= 1:
				j++
			default:
				j = len(args) // a syntax error ends the options
			}
		}
	case "acl|setuser":
		r.hide(2, len(args))
	case "config|set":
		for i := 2; i+1 < len(args); i += 2 {
			if d := config.Lookup(string(args[i])); d != nil && d.Sensitive {
				r.hide(i+1, i+2)
			}
		}
	case "migrate":
		// NB: as Redis parses them: AUTH needs its argument, AUTH2 its
		// two; KEYS ends the options, anything else fails them.
		for j := 6; j < len(args); j++ {
			switch {
			case commands.Is(args[j], "auth"):
				r.hide(j+1, j+2)
				j++
			case commands.Is(args[j], "auth2") && j+2 < len(args):
				r.hide(j+1, j+3)
				j += 2
			case commands.Is(args[j], "copy"), commands.Is(args[j], "replace"):
			default:
				j = len(args)
			}
		}
	}
	return r.out()
}

// redaction copies args on the first argument it hides.
type redaction struct {
	args, copied [][]byte
}

// hide redacts args[from:to], as far as args reach.
func (r *redaction) hide(from, to int) {
	for i := from; i < min(to, len(r.args)); i++ {
		if r.copied == nil {
			r.copied = append([][]byte(nil), r.args...)
		}
		r.copied[i] = redacted
	}
}

func (r *redaction) out() [][]byte {
	if r.copied != nil {
		return r.copied
	}
	return r.args
}
