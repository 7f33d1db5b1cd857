package commands

import (
	"math"

	"github.com/shoaldb/shoal/storage/encoding"
)

func stringCommands() []*Command {
	return []*Command{
		{Name: "get", Arity: 2, Flags: ReadOnly | Fast, FirstKey: 1, LastKey: 1, Step: 1, ACL: []string{"read", "string", "fast"},
			Group: "string", Summary: "Returns the string value of a key.", Since: "1.0.0", Complexity: "O(1)", Handler: get},
		{Name: "set", Arity: -3, Flags: Write | DenyOOM, FirstKey: 1, LastKey: 1, Step: 1, ACL: []string{"write", "string", "slow"},
			Group: "string", Summary: "Sets the string value of a key, ignoring its type. The key is created if it doesn't exist.", Since: "1.0.0", Complexity: "O(1)", Handler: set},
	}
}

func get(c *Ctx) error {
	v, ok, err := c.ReadString(c.Args[1])
	if err != nil {
		return err
	}
	if !ok {
		c.Out.Null()
		return nil
	}
	c.Out.Bulk(v)
	return nil
}

// expireArg is one of SET/GETEX's expiry options.
type expireOpts struct {
	at      int64 // absolute Unix ms; 0 when not given
	keepTTL bool
	persist bool
	given   bool
}

// parseExpireOption consumes EX/PX/EXAT/PXAT <n> at opt, returning the
// absolute deadline. cmd names the command for the error text.
func parseExpireOption(c *Ctx, opt []byte, cur *Cursor, cmd string) (int64, bool, error) {
	var unitMs int64
	abs := false
	switch {
	case Is(opt, "ex"):
		unitMs = 1000
	case Is(opt, "px"):
		unitMs = 1
	case Is(opt, "exat"):
		unitMs, abs = 1000, true
	case Is(opt, "pxat"):
		unitMs, abs = 1, true
	default:
		return 0, false, nil
	}
	a, err := cur.Next()
	if err != nil {
		return 0, true, err
	}
	n, err := ParseInt(a)
	if err != nil {
		return 0, true, err
	}
	bad := Errf("invalid expire time in '%s' command", cmd)
	if n <= 0 || n > math.MaxInt64/unitMs {
		return 0, true, bad
	}
	ms := n * unitMs
	if !abs {
		now := c.NowMs()
		if ms > math.MaxInt64-now {
			return 0, true, bad
		}
		ms += now
	}
	return ms, true, nil
}

func set(c *Ctx) error {
	var (
		nx, xx, getOld bool
		exp            expireOpts
	)
	cur := NewCursor(c.Args, 3)
	for cur.More() {
		opt, _ := cur.Next()
		switch {
		case Is(opt, "nx") && !xx:
			nx = true
		case Is(opt, "xx") && !nx:
			xx = true
		case Is(opt, "get"):
			getOld = true
		case Is(opt, "keepttl") && !exp.given:
			exp.keepTTL, exp.given = true, true
		default:
			if exp.given {
				return ErrSyntax
			}
			at, ok, err := parseExpireOption(c, opt, cur, "set")
			if !ok {
				return ErrSyntax
			}
			if err != nil {
				return err
			}
			exp.at, exp.given = at, true
		}
	}
	k, err := c.WriteKey(c.Args[1])
	if err != nil {
		return err
	}
	if getOld {
		if err := CheckType(k, encoding.TypeString); err != nil {
			return err
		}
	}
	reply := func() {
		if !getOld {
			return
		}
		if k.Live {
			c.Out.Bulk(k.Meta.Value)
		} else {
			c.Out.Null()
		}
	}
	if (nx && k.Live) || (xx && !k.Live) {
		if getOld {
			reply()
		} else {
			c.Out.Null()
		}
		return nil
	}
	expireAt := exp.at
	if exp.keepTTL && k.Live {
		expireAt = k.Meta.ExpireAt
	}
	if getOld {
		reply() // before PutMeta replaces k's value
	}
	c.PutString(k, c.Args[2], expireAt)
	if !getOld {
		c.Out.OK()
	}
	return nil
}
