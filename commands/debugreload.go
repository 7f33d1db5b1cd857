package commands

import (
	"path/filepath"

	"github.com/shoaldb/shoal/scripting"
	"github.com/shoaldb/shoal/storage"
	"github.com/shoaldb/shoal/storage/encoding"
)

// debugReload is DEBUG RELOAD [MERGE] [NOFLUSH] [NOSAVE]: as Redis, the
// dataset is saved to dbfilename (but for NOSAVE) and replaced by what the
// file holds, function libraries too (added to it under NOFLUSH, a key or
// library of both taken from the file under MERGE). The file is loaded into a store of its own first; when it
// holds the dataset as it is (the digests agree), nothing is rewritten.
// Otherwise its keys are written through this call's Tx, under every key
// lock, so replicas follow. A key of both under NOFLUSH without MERGE,
// on which Redis stops, is refused.
func debugReload(c *Ctx) error {
	flush, save, merge := true, true, false
	for _, o := range c.Args[2:] {
		switch {
		case Is(o, "merge"):
			merge = true
		case Is(o, "noflush"):
			flush = false
		case Is(o, "nosave"):
			save = false
		default:
			return Errf("DEBUG RELOAD only supports the MERGE, NOFLUSH and NOSAVE options.")
		}
	}
	c.Tx.LockAll()
	if save {
		if started, err := c.Server.Save(false); err != nil || !started {
			return &Error{Code: "ERR"}
		}
	}
	cfg := c.Server.Config()
	file, closeFile, err := c.Server.OpenRDB(filepath.Join(cfg.Dir, cfg.DBFilename))
	if err != nil {
		return Errf("Error trying to load the RDB dump")
	}
	defer closeFile()
	if err := reloadFunctions(c, file, flush, merge); err != nil {
		return err
	}
	ft := file.NewTx()
	defer ft.Discard()
	if flush {
		live, err := digestOf(c.Store, c.Tx)
		if err != nil {
			return err
		}
		loaded, err := digestOf(file, ft)
		if err != nil {
			return err
		}
		if live == loaded {
			c.Out.OK()
			return nil
		}
		for db := 0; db < c.Store.Databases(); db++ {
			c.Tx.FlushDB(db)
		}
	}
	for db := 0; db < file.Databases(); db++ {
		var copyErr error
		_, _, err := ft.ScanKeys(db, nil, func(name []byte, _ *encoding.Meta) bool {
			copyErr = reloadKey(c, ft, db, name, merge || flush)
			return copyErr == nil
		})
		if err == nil {
			err = copyErr
		}
		if err != nil {
			return err
		}
	}
	c.Out.OK()
	return nil
}

// reloadFunctions loads the file's function libraries as Redis's
// rdbLoad does after DEBUG RELOAD emptied the data or not: all of them in
// place of the libraries there (flush), replacing those of the same name
// (MERGE), or refused when one exists already.
func reloadFunctions(c *Ctx, file *storage.Store, flush, merge bool) error {
	eng := c.Server.Scripts()
	payload, ok, err := file.Record(storage.FunctionsRecord)
	if err != nil {
		return err
	}
	var codes []string
	if ok {
		if codes, err = storage.DecodeFunctions(payload); err != nil {
			return err
		}
	}
	policy := scripting.PolicyAppend
	switch {
	case flush:
		policy = scripting.PolicyFlush
	case merge:
		policy = scripting.PolicyReplace
	}
	if len(codes) == 0 && !flush {
		return nil
	}
	if err := eng.Restore(codes, policy); err != nil {
		return Errf("Error trying to load the RDB dump")
	}
	c.Server.SaveFunctions(c)
	return nil
}

// reloadKey writes the key name of database db, as the file's Tx ft reads
// it, into the dataset; replace lets it take the place of a key there.
func reloadKey(c *Ctx, ft *storage.Tx, db int, name []byte, replace bool) error {
	src, err := ft.Lookup(db, name)
	if err != nil || !src.Live {
		return err
	}
	payload, err := ft.Dump(src, false)
	if err != nil {
		return err
	}
	v, err := storage.DecodeDump(payload)
	if err != nil {
		return err
	}
	dst, err := c.Tx.Lookup(db, name)
	if err != nil {
		return err
	}
	if dst.Live && !replace {
		return Errf("Error trying to load the RDB dump")
	}
	c.Tx.Restore(dst, v, src.Meta.ExpireAt)
	return nil
}
