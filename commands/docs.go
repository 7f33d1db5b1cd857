package commands

import (
	_ "embed"
	"encoding/json"
	"fmt"
)

// Redis keeps each command's documentation and key specifications in a JSON
// file (src/commands/*.json) and renders COMMAND INFO and COMMAND DOCS from
// it. Shoal does the same: commanddocs.json holds those of every command
// redis-server 7.0.15 has, as that server reports them (recorded by
// TestCommandDocs -commanddocs-record); shoaldocs.json holds the key specs,
// tips and arguments of Shoal's own commands and of the few it takes from
// Redis 7.2, whose summary, since, group and complexity are their table
// literal's. Default attaches them to the table's commands by name;
// handlers keep their code.

//go:embed commanddocs.json
var redisDocsJSON []byte

//go:embed shoaldocs.json
var shoalDocsJSON []byte

// Meta is what a command's JSON file says beyond its table literal: its key
// specifications, its tips and its COMMAND DOCS fields.
type Meta struct {
	KeySpecs []KeySpec `json:"key_specs,omitempty"`
	Tips     []string  `json:"tips,omitempty"`
	Docs     Docs      `json:"docs"`
}

// KeySpec is one of a command's key specifications, as Redis 7 reports it
// in COMMAND INFO: where the search for keys begins and how keys are found
// from there, with the access flags of the keys it finds (RO, RW, OW, RM,
// access, update, insert, delete, not_key, incomplete, variable_flags).
type KeySpec struct {
	Notes       string      `json:"notes,omitempty"`
	Flags       []string    `json:"flags"`
	BeginSearch BeginSearch `json:"begin_search"`
	FindKeys    FindKeys    `json:"find_keys"`
}

// BeginSearch is a key spec's start: Type "index" (the argument at Index),
// "keyword" (the argument after Keyword, searched from StartFrom; negative
// counts from the end, backwards) or "unknown".
type BeginSearch struct {
	Type      string `json:"type"`
	Index     int    `json:"index,omitempty"`
	Keyword   string `json:"keyword,omitempty"`
	StartFrom int    `json:"startfrom,omitempty"`
}

// FindKeys is how a key spec finds its keys from its start: Type "range"
// (up to LastKey, relative to the start or negative from the end, every
// KeyStep, Limit dividing the rest when LastKey is -1), "keynum" (the
// argument KeyNumIdx after the start counts them, the first is FirstKey
// after the start) or "unknown".
type FindKeys struct {
	Type      string `json:"type"`
	LastKey   int    `json:"lastkey,omitempty"`
	KeyStep   int    `json:"keystep,omitempty"`
	Limit     int    `json:"limit,omitempty"`
	KeyNumIdx int    `json:"keynumidx,omitempty"`
	FirstKey  int    `json:"firstkey,omitempty"`
}

// Docs are a command's COMMAND DOCS fields. Empty fields are left out of
// the reply, as Redis leaves out what its JSON file does not give.
type Docs struct {
	Summary         string      `json:"summary,omitempty"`
	Since           string      `json:"since,omitempty"`
	Group           string      `json:"group"`
	Complexity      string      `json:"complexity,omitempty"`
	DocFlags        []string    `json:"doc_flags,omitempty"`
	DeprecatedSince string      `json:"deprecated_since,omitempty"`
	ReplacedBy      string      `json:"replaced_by,omitempty"`
	History         [][2]string `json:"history,omitempty"`
	Arguments       []Arg       `json:"arguments,omitempty"`
}

// Arg is one argument in COMMAND DOCS. KeySpecIndex is -1 for an argument
// that is not a key; Arguments are a oneof's or a block's members.
type Arg struct {
	Name            string   `json:"name"`
	Type            string   `json:"type"`
	KeySpecIndex    int      `json:"key_spec_index"`
	Token           string   `json:"token,omitempty"`
	Summary         string   `json:"summary,omitempty"`
	Since           string   `json:"since,omitempty"`
	DeprecatedSince string   `json:"deprecated_since,omitempty"`
	DisplayText     string   `json:"display_text,omitempty"`
	Flags           []string `json:"flags,omitempty"`
	Arguments       []Arg    `json:"arguments,omitempty"`
}

// UnmarshalJSON reads an argument whose key_spec_index is absent as -1.
func (a *Arg) UnmarshalJSON(b []byte) error {
	type plain Arg
	p := plain{KeySpecIndex: -1}
	if err := json.Unmarshal(b, &p); err != nil {
		return err
	}
	*a = Arg(p)
	return nil
}

// MarshalJSON leaves key_spec_index out when it is -1.
func (a Arg) MarshalJSON() ([]byte, error) {
	type plain Arg
	if a.KeySpecIndex >= 0 {
		return json.Marshal(plain(a))
	}
	type noKey struct {
		plain
		KeySpecIndex *int `json:"key_spec_index,omitempty"`
	}
	return json.Marshal(noKey{plain: plain(a)})
}

// parseMeta reads a docs file: command name ("get", "client|list") → Meta.
func parseMeta(b []byte) (map[string]*Meta, error) {
	m := map[string]*Meta{}
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, fmt.Errorf("commands: docs: %w", err)
	}
	return m, nil
}

// attachMeta gives every command of t its Meta from the docs files,
// Shoal's taking precedence and taking its docs' summary, since, group and
// complexity from the command. A command without an entry keeps a nil
// Meta (the table's test requires one).
func attachMeta(t *Table) {
	redis, err := parseMeta(redisDocsJSON)
	if err != nil {
		panic(err)
	}
	shoal, err := parseMeta(shoalDocsJSON)
	if err != nil {
		panic(err)
	}
	attach := func(c *Command) {
		m := shoal[c.Name]
		if m == nil {
			c.Meta = redis[c.Name]
			return
		}
		m.Docs.Summary, m.Docs.Since, m.Docs.Group, m.Docs.Complexity = c.Summary, c.Since, c.Group, c.Complexity
		c.Meta = m
	}
	for _, c := range t.All() {
		attach(c)
		for _, s := range c.Subcommands {
			attach(s)
		}
	}
}
