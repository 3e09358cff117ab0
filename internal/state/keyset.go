package state

import (
	"fmt"
	"os"

	"github.com/cockroachdb/pebble/v2"
)

// KeySet is a scratch, on-disk set of keys (a throwaway pebble store without
// fsync): verify records the keys a source holds in it, then walks it in key
// order beside the state, in memory that does not grow with the table.
type KeySet struct {
	db  *pebble.DB
	dir string
	b   *pebble.Batch
}

// NewKeySet makes an empty set in a new folder under parent.
func NewKeySet(parent string) (*KeySet, error) {
	dir, err := os.MkdirTemp(parent, "keyset-")
	if err != nil {
		return nil, fmt.Errorf("making a scratch key set: %w", err)
	}
	db, err := pebble.Open(dir, &pebble.Options{DisableWAL: true, Logger: pebbleLogger{}})
	if err != nil {
		os.RemoveAll(dir)
		return nil, fmt.Errorf("opening a scratch key set: %w", err)
	}
	return &KeySet{db: db, dir: dir, b: db.NewBatch()}, nil
}

// Add puts key in the set.
func (k *KeySet) Add(key []byte) error {
	if err := k.b.Set(key, nil, nil); err != nil {
		return err
	}
	if k.b.Len() >= 4<<20 {
		return k.flush()
	}
	return nil
}

func (k *KeySet) flush() error {
	if err := k.b.Commit(pebble.NoSync); err != nil {
		return fmt.Errorf("writing the scratch key set: %w", err)
	}
	k.b = k.db.NewBatch()
	return nil
}

// Scan calls fn for every key in byte order.
func (k *KeySet) Scan(fn func(key []byte) error) error {
	if err := k.flush(); err != nil {
		return err
	}
	it, err := k.db.NewIter(nil)
	if err != nil {
		return err
	}
	for ok := it.First(); ok; ok = it.Next() {
		if err := fn(it.Key()); err != nil {
			it.Close()
			return err
		}
	}
	if err := it.Error(); err != nil {
		it.Close()
		return err
	}
	return it.Close()
}

// Close removes the set.
func (k *KeySet) Close() error {
	k.b.Close()
	err := k.db.Close()
	if rerr := os.RemoveAll(k.dir); err == nil {
		err = rerr
	}
	return err
}

// KeySetIter walks a KeySet in key order.
type KeySetIter struct {
	it    *pebble.Iterator
	valid bool
}

// Iter returns an iterator positioned at the first key.
func (k *KeySet) Iter() (*KeySetIter, error) {
	if err := k.flush(); err != nil {
		return nil, err
	}
	it, err := k.db.NewIter(nil)
	if err != nil {
		return nil, err
	}
	return &KeySetIter{it: it, valid: it.First()}, nil
}

// Key returns the current key, or nil at the end.
func (i *KeySetIter) Key() []byte {
	if !i.valid {
		return nil
	}
	return i.it.Key()
}

// Next moves to the next key.
func (i *KeySetIter) Next() { i.valid = i.it.Next() }

// Close ends the iteration.
func (i *KeySetIter) Close() error { return i.it.Close() }
