package config

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// The directives whose values have forms of their own, each parsed and
// rewritten as redis-server 7.0 does.

// saveKind is save: pairs of "seconds changes", or "" for none.
type saveKind struct{}

func (saveKind) parse(_ string, a []string) (string, error) {
	if len(a) == 1 && a[0] == "" {
		a = nil
	}
	bad := errors.New("Invalid save parameters")
	if len(a)%2 != 0 {
		return "", bad
	}
	out := make([]string, len(a))
	for j, w := range a {
		v, ok := strtoll(w)
		if !ok || (j%2 == 0 && v < 1) || (j%2 == 1 && v < 0) {
			return "", bad
		}
		if j%2 == 1 {
			v = int64(int32(v)) // Redis keeps the count of changes in an int
		}
		out[j] = strconv.FormatInt(v, 10)
	}
	return strings.Join(out, " "), nil
}

func (saveKind) lines(name, v, _ string) []line {
	w := strings.Fields(v)
	if len(w) == 0 {
		return []line{{name + ` ""`, true}}
	}
	var out []line
	for j := 0; j+1 < len(w); j += 2 {
		out = append(out, line{name + " " + w[j] + " " + w[j+1], true})
	}
	return out
}

// outputLimits is client-output-buffer-limit: "class hard soft seconds"
// groups for the classes normal, slave (or replica) and pubsub. A CONFIG
// SET changes only the classes it names.
type outputLimits struct{}

var outputClasses = []string{"normal", "slave", "pubsub"}

func outputClass(s string) int {
	switch strings.ToLower(s) {
	case "normal":
		return 0
	case "slave", "replica":
		return 1
	case "pubsub":
		return 2
	}
	return -1
}

// limits reads the CONFIG GET form back: hard and soft bytes and seconds
// per class.
func (outputLimits) limits(v string) (l [3][3]int64) {
	w := strings.Fields(v)
	for j := 0; j+3 < len(w); j += 4 {
		if c := outputClass(w[j]); c >= 0 {
			for i := 0; i < 3; i++ {
				l[c][i], _ = strconv.ParseInt(w[j+1+i], 10, 64)
			}
		}
	}
	return l
}

func (k outputLimits) format(l [3][3]int64) string {
	parts := make([]string, 3)
	for c, name := range outputClasses {
		parts[c] = fmt.Sprintf("%s %d %d %d", name, uint64(l[c][0]), uint64(l[c][1]), l[c][2])
	}
	return strings.Join(parts, " ")
}

func (k outputLimits) parse(cur string, a []string) (string, error) {
	if len(a)%4 != 0 {
		return "", errors.New("Wrong number of arguments in buffer limit configuration.")
	}
	l := k.limits(cur)
	for j := 0; j < len(a); j += 4 {
		c := outputClass(a[j])
		if c < 0 {
			return "", errors.New("Invalid client class specified in buffer limit configuration.")
		}
		hard, ok1 := memtoull(a[j+1])
		soft, ok2 := memtoull(a[j+2])
		secs, ok3 := strtoll(a[j+3])
		secs = int64(int32(secs)) // an int in Redis
		if !ok1 || !ok2 || !ok3 || secs < 0 {
			return "", errors.New("Error in hard, soft or soft_seconds setting in buffer limit configuration.")
		}
		l[c] = [3]int64{int64(hard), int64(soft), secs}
	}
	return k.format(l), nil
}

func (k outputLimits) lines(name, v, def string) []line {
	l, d := k.limits(v), k.limits(def)
	var out []line
	for c, class := range []string{"normal", "replica", "pubsub"} {
		out = append(out, line{fmt.Sprintf("%s %s %s %s %d", name, class,
			formatMemory(l[c][0]), formatMemory(l[c][1]), l[c][2]), l[c] != d[c]})
	}
	return out
}

// oomValues is oom-score-adj-values: three scores within -2000..2000.
type oomValues struct{}

func (oomValues) parse(_ string, a []string) (string, error) {
	if len(a) == 1 {
		// NB: one argument holding the three, as redis-server's command
		// line passes "--oom-score-adj-values '0 200 800'".
		a = strings.Fields(a[0])
	}
	if len(a) != 3 {
		return "", errors.New("wrong number of arguments")
	}
	out := make([]string, 3)
	for i, w := range a {
		v, ok := strtoll(w)
		if !ok || v < -2000 || v > 2000 {
			return "", errors.New("Invalid oom-score-adj-values, elements must be between -2000 and 2000.")
		}
		out[i] = strconv.FormatInt(v, 10)
	}
	return strings.Join(out, " "), nil
}

func (oomValues) lines(name, v, def string) []line { return one(name, v, v != def) }

// keyspaceEvents is notify-keyspace-events: a set of event class letters,
// shown in Redis's order with A standing for g$lshzxetd.
type keyspaceEvents struct{}

// eventClasses are the letters in the order CONFIG GET lists them; the
// first ten make up A, and n is listed only when A is not.
const eventClasses = "g$lshzxetdnKEm"

func (keyspaceEvents) parse(_ string, a []string) (string, error) {
	var set [len(eventClasses)]bool
	for i := 0; i < len(a[0]); i++ {
		c := a[0][i]
		if c == 'A' {
			for j := 0; j < 10; j++ {
				set[j] = true
			}
			continue
		}
		j := strings.IndexByte(eventClasses, c)
		if j < 0 {
			return "", errors.New("Invalid event class character. Use 'Ag$lshzxeKEtmdn'.")
		}
		set[j] = true
	}
	var b strings.Builder
	all := true
	for j := 0; j < 10; j++ {
		all = all && set[j]
	}
	for j := 0; j < len(eventClasses); j++ {
		switch {
		case !set[j]:
		case j < 10 && all:
			if j == 0 {
				b.WriteByte('A')
			}
		case j == 10 && all: // n goes with the classes A stands for
		default:
			b.WriteByte(eventClasses[j])
		}
	}
	return b.String(), nil
}

func (keyspaceEvents) lines(name, v, _ string) []line { return one(name, quote(v), v != "") }

// bindKind is bind: up to 16 addresses; a single "" is none (no TCP
// listener), as in Redis.
type bindKind struct{}

func (bindKind) parse(_ string, a []string) (string, error) {
	if len(a) > 16 {
		return "", errors.New("Too many bind addresses specified.")
	}
	if len(a) == 1 && a[0] == "" {
		a = nil
	}
	return strings.Join(a, " "), nil
}

func (bindKind) lines(name, v, def string) []line {
	switch v {
	case def:
		return nil
	case "":
		return []line{{name + ` ""`, true}}
	}
	return one(name, v, true)
}

// replicaOf is replicaof: "host port", or "no one" for none.
type replicaOf struct{}

func (replicaOf) parse(_ string, a []string) (string, error) {
	if len(a) != 2 {
		return "", errors.New("wrong number of arguments")
	}
	if strings.EqualFold(a[0], "no") && strings.EqualFold(a[1], "one") {
		return "", nil
	}
	port, ok := strtoll(a[1])
	if !ok || port < 0 || port > 65535 {
		return "", errors.New("Invalid master port")
	}
	return a[0] + " " + strconv.FormatInt(port, 10), nil
}

func (replicaOf) lines(name, v, _ string) []line {
	if v == "" {
		return nil
	}
	return one(name, v, true)
}

// percentiles is latency-tracking-info-percentiles: numbers within 0..100,
// or "" for none; CONFIG REWRITE always writes it.
type percentiles struct{}

func (percentiles) parse(_ string, a []string) (string, error) {
	if len(a) == 1 && a[0] == "" {
		a = nil
	}
	out := make([]string, len(a))
	for i, w := range a {
		f, ok := string2d(w)
		if !ok {
			return "", errors.New("Invalid latency-tracking-info-percentiles parameters")
		}
		if f > 100 || f < 0 {
			return "", errors.New("latency-tracking-info-percentiles parameters should sit between [0.0,100.0]")
		}
		s := strconv.FormatFloat(f, 'f', 6, 64)
		s = strings.TrimRight(s, "0")
		out[i] = strings.TrimSuffix(s, ".")
	}
	return strings.Join(out, " "), nil
}

func (percentiles) lines(name, v, _ string) []line {
	if v == "" {
		return []line{{name + ` ""`, true}}
	}
	return one(name, v, true)
}

var errShutdownSaveNosave = errors.New("shutdown options SAVE and NOSAVE can't be used simultaneously")

// checkBaseName refuses a path where a file name is wanted (dbfilename).
func checkBaseName(msg string) func(string) error {
	return func(s string) error {
		if strings.ContainsAny(s, `/\`) {
			return errors.New(msg)
		}
		return nil
	}
}

// checkHostname accepts what cluster-announce-hostname may be: letters,
// digits, hyphens and dots, fewer than 256 of them.
func checkHostname(s string) error {
	if len(s) >= 256 {
		return errors.New("Hostnames must be less than 256 characters")
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '.') {
			return errors.New("Hostnames may only contain alphanumeric characters, hyphens or dots")
		}
	}
	return nil
}

// procTitleVars are the variables of proc-title-template and whether each
// expands to something when the template is checked (with an empty title,
// no unix socket, no cluster mode).
var procTitleVars = map[string]bool{"title": false, "listen-addr": true, "server-mode": false,
	"port": true, "tls-port": true, "unixsocket": false, "config-file": false}

// checkProcTitle accepts a template as Redis's validateProcTitleTemplate
// does: "{{" is a brace, every {variable} is known, and the expansion is
// not blank.
func checkProcTitle(s string) error {
	bad := errors.New("template format is invalid or contains unknown variables")
	nonBlank := false
	for s != "" {
		i := strings.IndexByte(s, '{')
		if i < 0 {
			nonBlank = nonBlank || strings.Trim(s, " ") != ""
			break
		}
		nonBlank = nonBlank || strings.Trim(s[:i], " ") != ""
		s = s[i+1:]
		switch {
		case s == "":
			return bad
		case s[0] == '{':
			nonBlank = true
			s = s[1:]
			continue
		}
		j := strings.IndexByte(s, '}')
		if j < 0 {
			return bad
		}
		full, known := procTitleVars[s[:j]]
		if !known {
			return bad
		}
		nonBlank = nonBlank || full
		s = s[j+1:]
	}
	if !nonBlank {
		return bad
	}
	return nil
}
