package apply

import (
	"bytes"
	"fmt"
	"maps"
	"time"

	"github.com/tidemark-dev/tidemark/internal/change"
	"github.com/tidemark-dev/tidemark/internal/ddbjson"
	"github.com/tidemark-dev/tidemark/internal/state"
)

// applyImage applies a full image from a snapshot row, a repair or a
// re-sync: it never overwrites a newer state and never resurrects a newer
// tombstone.
func (m *Materializer) applyImage(txn *state.Txn, c *change.Change) (Outcome, error) {
	key := c.Key.Bytes()
	prev, err := txn.Get(c.Entity, key)
	if err != nil {
		return 0, err
	}
	asOf := c.AsOf
	if asOf.IsZero() {
		asOf = c.EventTime
	}
	if prev != nil && newerThanImage(prev, c, asOf) {
		return Stale, nil
	}
	if c.Op == change.OpDelete {
		if prev == nil || !prev.Live {
			return Unchanged, nil
		}
		rec := &state.Record{Version: c.Version, AsOf: asOf, Changed: asOf}
		return Applied, m.commit(txn, c, key, prev, rec)
	}
	same, err := sameImage(prev, c)
	if err != nil {
		return 0, err
	}
	if same {
		// Same image: the key is known to be current as of this row.
		up := *prev
		if asOf.After(up.AsOf) {
			up.AsOf = asOf
		}
		if c.Version != "" && (c.Version != up.Version || up.VersionStale) {
			up.Version, up.VersionStale = c.Version, false
			txn.Touch(c.Entity) // _version changes: the next publish must see it
		}
		txn.Put(c.Entity, key, &up)
		return Unchanged, nil
	}
	rec := &state.Record{Live: true, Image: c.Image, ImageBin: c.ImageBin, Version: c.Version, AsOf: asOf, Changed: asOf}
	return Applied, m.commit(txn, c, key, prev, rec)
}

// sameImage reports whether prev is live with an image equal to c's full
// image. A binary image equal byte for byte is equal; otherwise it is
// decoded and compared by value ("1.50" equals "1.5").
func sameImage(prev *state.Record, c *change.Change) (bool, error) {
	if prev == nil || !prev.Live {
		return false, nil
	}
	if c.Image == nil && c.ImageBin != nil {
		if prev.ImageBin != nil && bytes.Equal(prev.ImageBin, c.ImageBin) {
			return true, nil
		}
		img, err := c.FullImage()
		if err != nil {
			return false, err
		}
		return equalToState(prev, img)
	}
	return equalToState(prev, c.Image)
}

// equalToState reports whether the live state prev's image equals img
// (EqualMaps): bytes first when prev's image is binary, then by value.
func equalToState(prev *state.Record, img ddbjson.Map) (bool, error) {
	if prev.Image == nil && prev.ImageBin != nil {
		if bytes.Equal(prev.ImageBin, ddbjson.AppendBinary(nil, img)) {
			return true, nil
		}
	}
	cur, err := prev.DecodedImage()
	if err != nil {
		return false, err
	}
	return ddbjson.EqualMaps(cur, img), nil
}

// stateField returns the value of a top-level attribute of the live state
// prev (NULL when absent), read in place when its image is binary.
func stateField(prev *state.Record, f string) (ddbjson.Value, error) {
	if prev.Image != nil || prev.ImageBin == nil {
		return prev.Image[f], nil
	}
	raw, ok, err := ddbjson.RawGet(prev.ImageBin, f)
	if err != nil || !ok {
		return ddbjson.Null(), err
	}
	return raw.Value()
}

// fieldEqualRaw reports whether the live state prev holds v, a value in
// the binary form, in field f.
func fieldEqualRaw(prev *state.Record, f string, v ddbjson.RawValue) (bool, error) {
	if prev.Image != nil || prev.ImageBin == nil {
		dv, err := v.Value()
		if err != nil {
			return false, err
		}
		return ddbjson.Equal(prev.Image[f], dv), nil
	}
	raw, _, err := ddbjson.RawGet(prev.ImageBin, f)
	if err != nil {
		return false, err
	}
	return ddbjson.RawEqualRaw(raw, v)
}

// binaryOf returns the binary form of a change's map, given as a Map or
// already in that form (bin, used when m is nil).
func binaryOf(m ddbjson.Map, bin []byte) []byte {
	if m != nil || bin == nil {
		return ddbjson.AppendBinary(nil, m)
	}
	return bin
}

// newerThanImage reports whether the state prev is newer than a full image
// c true at asOf.
func newerThanImage(prev *state.Record, c *change.Change, asOf time.Time) bool {
	if c.Version != "" && prev.Version != "" {
		cmp := compareVersions(c.Version, prev.Version)
		switch {
		case cmp < 0:
			return true
		case cmp == 0 && !prev.VersionStale:
			// Same version: a live state equal to the image is handled by the
			// caller; a tombstone of that version stays deleted.
			return !prev.Live
		case cmp > 0 && !prev.VersionStale:
			return false
		}
		// Events without versions changed the state after its version: the
		// image is newer only if it is later than those changes.
	}
	return prev.Changed.After(asOf)
}

// applyEvent applies an entity event under the as-of rule.
func (m *Materializer) applyEvent(txn *state.Txn, c *change.Change) (Outcome, error) {
	if c.EventID != "" {
		seen, err := txn.SeenEvent(c.Entity, c.EventID, c.EventTime)
		if err != nil {
			return 0, err
		}
		if seen {
			return Duplicate, nil
		}
		if err := txn.MarkEvent(c.Entity, c.EventID, c.EventTime); err != nil {
			return 0, err
		}
	}
	key := c.Key.Bytes()
	prev, err := txn.Get(c.Entity, key)
	if err != nil {
		return 0, err
	}
	window := false
	if c.Version != "" && prev != nil && prev.Version != "" && !prev.VersionStale {
		if compareVersions(c.Version, prev.Version) <= 0 {
			return Stale, nil
		}
	} else if c.Origin != change.OriginStream {
		// A change log of the table itself (a DynamoDB stream) holds every
		// later change too, so its records apply in order and need no
		// as-of judgement (whose times it gives only to the second, or
		// the minute).
		var reflected bool
		reflected, window, err = m.reflected(c, prev)
		if err != nil || reflected {
			return Reflected, err
		}
	}
	switch c.Op {
	case change.OpUpsert:
		return m.upsert(txn, c, key, prev)
	case change.OpPatch:
		return m.patch(txn, c, key, prev, window)
	default:
		return m.delete(txn, c, key, prev)
	}
}

// reflected applies the as-of rule: an event before the snapshot (less the
// clock skew) is reflected in it; one inside the window is reflected when
// the state already shows its effect. window reports an event inside the
// window that is not reflected.
func (m *Materializer) reflected(c *change.Change, prev *state.Record) (reflected, window bool, err error) {
	asOf, err := m.SnapshotAsOf(c.Entity)
	if err != nil {
		return false, false, err
	}
	if prev != nil && prev.AsOf.After(asOf) {
		asOf = prev.AsOf
	}
	if asOf.IsZero() || c.EventTime.After(asOf.Add(m.opts.ClockSkew)) {
		return false, false, nil
	}
	if c.EventTime.Before(asOf.Add(-m.opts.ClockSkew)) {
		return true, false, nil
	}
	live := prev != nil && prev.Live
	switch c.Op {
	case change.OpUpsert:
		return live, !live, nil // the entity exists in the snapshot: its creation is reflected
	case change.OpDelete:
		return !live, live, nil
	}
	if !live {
		// A patch near the snapshot for an entity the snapshot does not hold:
		// it was deleted before the snapshot (a create after it would have
		// come first).
		return true, false, nil
	}
	set, _, err := ddbjson.RawMembers(nil, binaryOf(c.Image, c.ImageBin))
	if err != nil {
		return false, false, fmt.Errorf("reading the changed fields: %w", err)
	}
	for _, f := range set {
		eq, err := fieldEqualRaw(prev, f.Key, f.Val)
		if err != nil {
			return false, false, err
		}
		if !eq {
			return false, true, nil
		}
	}
	return true, false, nil
}

func (m *Materializer) upsert(txn *state.Txn, c *change.Change, key []byte, prev *state.Record) (Outcome, error) {
	same, err := sameImage(prev, c)
	if err != nil || same {
		return Unchanged, err
	}
	rec := m.after(c, prev)
	rec.Live, rec.Image, rec.ImageBin = true, c.Image, c.ImageBin
	return Applied, m.commit(txn, c, key, prev, rec)
}

// patch applies a partial update. Outside the clock-skew window an oldData
// that does not match the state is an inconsistency; inside it, it may as
// well be an event the snapshot already superseded (two writes to a field
// within the window), so the patch is applied (a later event in the stream
// settles the field) but no inconsistency is recorded.
func (m *Materializer) patch(txn *state.Txn, c *change.Change, key []byte, prev *state.Record, window bool) (Outcome, error) {
	if prev == nil || !prev.Live {
		found := ddbjson.Null()
		if prev != nil {
			found = ddbjson.S("deleted")
		}
		if err := m.inconsistency(txn, c, "", ddbjson.S("an existing entity"), found); err != nil {
			return 0, err
		}
		if prev != nil {
			return Orphan, nil // never resurrect a deleted entity from a partial update
		}
		e := m.entities[c.Entity]
		keys := ddbjson.Map{e.HashAttr: c.Key.Hash}
		if e.RangeAttr != "" {
			keys[e.RangeAttr] = c.Key.Range
		}
		img, _, err := ddbjson.PatchBinary(nil, binaryOf(c.Image, c.ImageBin), keys)
		if err != nil {
			return 0, fmt.Errorf("reading the changed fields: %w", err)
		}
		rec := m.after(c, prev)
		rec.Live, rec.ImageBin = true, img
		return Applied, m.commit(txn, c, key, prev, rec)
	}
	rec := m.after(c, prev)
	rec.Live = true
	switch {
	case prev.Image == nil && prev.ImageBin != nil:
		// The stored image is patched in its binary form, without maps,
		// into a buffer of the size it will most likely have.
		set := binaryOf(c.Image, c.ImageBin)
		bin, changed, err := ddbjson.PatchBinaryRaw(make([]byte, 0, len(prev.ImageBin)+len(set)), prev.ImageBin, set)
		if err != nil || !changed {
			return Unchanged, err
		}
		rec.ImageBin = bin
	default:
		set, err := c.FullImage()
		if err != nil {
			return 0, err
		}
		img := maps.Clone(prev.Image)
		maps.Copy(img, set)
		if ddbjson.EqualMaps(img, prev.Image) {
			return Unchanged, nil
		}
		rec.Image = img
	}
	if !window && (c.Old != nil || c.OldBin != nil) {
		old, _, err := ddbjson.RawMembers(nil, binaryOf(c.Old, c.OldBin))
		if err != nil {
			return 0, fmt.Errorf("reading the old values: %w", err)
		}
		for _, f := range old {
			eq, err := fieldEqualRaw(prev, f.Key, f.Val)
			if err != nil {
				return 0, err
			}
			if eq {
				continue
			}
			want, err := f.Val.Value()
			if err != nil {
				return 0, err
			}
			found, err := stateField(prev, f.Key)
			if err != nil {
				return 0, err
			}
			if err := m.inconsistency(txn, c, f.Key, want, found); err != nil {
				return 0, err
			}
		}
	}
	return Applied, m.commit(txn, c, key, prev, rec)
}

func (m *Materializer) delete(txn *state.Txn, c *change.Change, key []byte, prev *state.Record) (Outcome, error) {
	if prev != nil && !prev.Live {
		return Unchanged, nil
	}
	rec := m.after(c, prev)
	if prev == nil {
		// Remember the deletion so that a stale snapshot row cannot bring
		// the entity back, but there is no visible change to record.
		txn.Put(c.Entity, key, rec)
		return Unchanged, nil
	}
	return Applied, m.commit(txn, c, key, prev, rec)
}

// after returns the record fields an event leaves: the version (now stale
// unless the event carried one), the snapshot as-of time and the change time.
func (m *Materializer) after(c *change.Change, prev *state.Record) *state.Record {
	rec := &state.Record{Changed: c.EventTime, Version: c.Version}
	if prev != nil {
		rec.AsOf = prev.AsOf
		if prev.Changed.After(rec.Changed) {
			rec.Changed = prev.Changed
		}
		if c.Version == "" {
			rec.Version, rec.VersionStale = prev.Version, prev.Version != ""
		}
	}
	return rec
}
