package gen

import (
	"maps"

	"github.com/tidemark-dev/tidemark/internal/ddbjson"
)

// The kinds of write, kept one byte per write: the low nibble is the kind,
// the high nibble the field a follow-up write is forced to touch.
const (
	kindNone   uint8 = iota // no tenure could take the write: nothing happened
	kindCreate              // TenureCreatedEvent
	kindUpdate              // TenureUpdatedEvent
	kindAdd                 // PersonAddedToTenureEvent (also a member changed)
	kindRemove              // PersonRemovedFromTenureEvent
	kindSilent              // tenure-listener: a write with no event
)

const (
	forceNone    uint8 = iota
	forceMembers       // householdMembers
	forceAsset         // tenuredAsset
)

const (
	fieldMembers = "householdMembers"
	fieldAsset   = "tenuredAsset"
)

var eventTypes = [...]string{
	kindCreate: "TenureCreatedEvent",
	kindUpdate: "TenureUpdatedEvent",
	kindAdd:    "PersonAddedToTenureEvent",
	kindRemove: "PersonRemovedFromTenureEvent",
}

// tstate is a tenure's state as an overlay on its base image: the fields
// written during the window, the number of writes since the base, and the
// fields on which an event-only copy differs from the table (after silent
// writes following the snapshot).
type tstate struct {
	idx    int
	c      core
	over   ddbjson.Map // current value of every field written in the window
	div    ddbjson.Map // the copy's value where it differs; the zero Value = absent
	writes int         // writes after the base (a create is not counted)
}

func (m *model) newState(idx int) *tstate {
	return &tstate{idx: idx, c: m.core(idx), over: ddbjson.Map{}}
}

// get returns the current value of a field (the zero Value when absent).
func (m *model) get(st *tstate, name string) ddbjson.Value {
	if v, ok := st.over[name]; ok {
		return v
	}
	return m.baseField(st.idx, name, &st.c)
}

func (st *tstate) version() int { return st.c.version + st.writes }

// mismatch is a field of an event's oldData that differs from the value an
// event-only copy holds.
type mismatch struct {
	field           string
	expected, found ddbjson.Value
}

// result is what a write did: the changed fields' values before and after
// (nil for a create) and, for an evented write after the snapshot, the fields
// whose oldData the copy cannot match.
type result struct {
	old, new   ddbjson.Map
	mismatches []mismatch
}

// step applies write k to st. Both the simulation and the replay of a
// tenure's writes call it, so they agree byte for byte: every choice comes
// from the write's own random stream and the state.
func (m *model) step(st *tstate, k int, kind uint8, afterSnapshot bool) result {
	r := newRnd(m.seed, streamWrite, uint64(k), 0)
	var res result
	switch kind & 0xf {
	case kindCreate:
		return res
	case kindUpdate:
		res = m.update(st, &r, kind>>4)
	case kindAdd:
		res = m.addMember(st, &r)
	case kindRemove:
		res = m.removeMember(st, &r)
	case kindSilent:
		res = m.silent(st, k, &r)
	}
	for f, v := range res.new {
		st.over[f] = v
	}
	st.writes++
	if afterSnapshot {
		res.mismatches = trackCopy(st, kind&0xf == kindSilent, res)
	}
	return res
}

// trackCopy keeps st.div: a silent write leaves the copy behind; an evented
// write brings the copy's fields to the new values, and any oldData field the
// copy holds differently is a mismatch.
func trackCopy(st *tstate, silent bool, res result) []mismatch {
	if silent {
		for f, o := range res.old {
			if _, ok := st.div[f]; !ok {
				if st.div == nil {
					st.div = ddbjson.Map{}
				}
				st.div[f] = o
			}
		}
		return nil
	}
	var out []mismatch
	for _, f := range res.old.SortedKeys() {
		if found, ok := st.div[f]; ok && !ddbjson.Equal(found, res.old[f]) {
			out = append(out, mismatch{field: f, expected: res.old[f], found: found})
		}
	}
	for f := range res.new {
		delete(st.div, f)
	}
	return out
}

// updatable lists the fields a TenureUpdatedEvent changes, with weights.
var updatable = []struct {
	name   string
	weight int
}{
	{"paymentReference", 10}, {"endOfTenureDate", 12}, {"potentialEndDate", 6}, {"charges", 20},
	{"isTenanted", 8}, {"tenureType", 6}, {"terminated", 5}, {"numberOfAdultsInProperty", 5},
	{"numberOfChildrenInProperty", 5}, {"informHousingBenefitsForChanges", 4}, {"isSublet", 3},
	{"subletEndDate", 2}, {"notices", 5}, {"agreementType", 2}, {"fundingSource", 3},
	{fieldAsset, 4}, {"hasOffsiteStorage", 2}, {"isMutualExchange", 2},
}

var updatableWeights = func() []int {
	w := make([]int, len(updatable))
	for i, u := range updatable {
		w[i] = u.weight
	}
	return w
}()

// update changes 1 to 3 top-level fields (the forced one first).
func (m *model) update(st *tstate, r *rnd, force uint8) result {
	n := 1 + r.weighted([]int{60, 30, 10})
	res := result{old: ddbjson.Map{}, new: ddbjson.Map{}}
	for tries := 0; len(res.new) < n && tries < 12; tries++ {
		f := updatable[r.weighted(updatableWeights)].name
		if tries == 0 && force == forceAsset {
			f = fieldAsset
		}
		if _, dup := res.new[f]; dup {
			continue
		}
		old := m.get(st, f)
		nv := m.newValue(st, f, old, r)
		if ddbjson.Equal(old, nv) {
			continue
		}
		res.old[f], res.new[f] = nullIfAbsent(old), nv
	}
	if len(res.new) == 0 {
		old := m.get(st, "paymentReference")
		res.old["paymentReference"] = nullIfAbsent(old)
		res.new["paymentReference"] = ddbjson.S(differentRef(old.Str, r))
	}
	return res
}

// nullIfAbsent gives an absent value as NULL, as an event's JSON has it.
func nullIfAbsent(v ddbjson.Value) ddbjson.Value {
	if v.Kind == ddbjson.KindInvalid {
		return ddbjson.Null()
	}
	return v
}

func (m *model) members(st *tstate) []ddbjson.Value {
	v := m.get(st, fieldMembers)
	if v.Kind != ddbjson.KindL {
		return nil
	}
	return v.List
}

// addMember adds a household member or, one time in four, changes one (the
// Tenure API sends PersonAddedToTenureEvent for both).
func (m *model) addMember(st *tstate, r *rnd) result {
	before := m.members(st)
	after := append(make([]ddbjson.Value, 0, len(before)+1), before...)
	if len(before) > 0 && r.chance(0.25) {
		i := r.intn(len(before))
		after[i] = changeMember(before[i], st.c.typ, r)
	} else {
		after = append(after, member(r, st.c.typ, len(before) == 0))
	}
	return memberResult(before, after)
}

// removeMember removes a member other than the first; with one member it
// adds one instead.
func (m *model) removeMember(st *tstate, r *rnd) result {
	before := m.members(st)
	if len(before) < 2 {
		return m.addMember(st, r)
	}
	i := 1 + r.intn(len(before)-1)
	after := append(append(make([]ddbjson.Value, 0, len(before)-1), before[:i]...), before[i+1:]...)
	return memberResult(before, after)
}

func memberResult(before, after []ddbjson.Value) result {
	if before == nil {
		before = []ddbjson.Value{}
	}
	return result{
		old: ddbjson.Map{fieldMembers: ddbjson.L(before...)},
		new: ddbjson.Map{fieldMembers: ddbjson.L(after...)},
	}
}

// changeMember returns a member with a new name or a flipped responsibility.
func changeMember(v ddbjson.Value, typ tenureType, r *rnd) ddbjson.Value {
	mm := maps.Clone(v.Map)
	if mm == nil {
		mm = ddbjson.Map{}
	}
	if r.chance(0.5) || mm["type"].Str == "Organisation" {
		mm["fullName"] = ddbjson.S(renamed(mm["fullName"].Str, r))
		return ddbjson.M(mm)
	}
	resp := !mm["isResponsible"].Bool
	mm["isResponsible"] = ddbjson.Bool(resp)
	mm["personTenureType"] = ddbjson.S(typ.personTenureType(resp))
	return ddbjson.M(mm)
}

// renamed returns a different full name (a new surname, say after marriage).
func renamed(old string, r *rnd) string {
	for {
		n := fullName(r)
		if n != old {
			return n
		}
	}
}

// silent is a tenure-listener write: a member's name or the asset's address
// changes (it mirrors Person and Asset events) and no event is emitted.
func (m *model) silent(st *tstate, k int, r *rnd) result {
	before := m.members(st)
	if silentForce(m.seed, k) == forceMembers && len(before) > 0 {
		after := append([]ddbjson.Value(nil), before...)
		i := r.intn(len(before))
		mm := maps.Clone(before[i].Map)
		mm["fullName"] = ddbjson.S(renamed(mm["fullName"].Str, r))
		after[i] = ddbjson.M(mm)
		return memberResult(before, after)
	}
	old := m.get(st, fieldAsset)
	return result{old: ddbjson.Map{fieldAsset: nullIfAbsent(old)}, new: ddbjson.Map{fieldAsset: changeAsset(old, r)}}
}

// silentForce is the field silent write k changes, decided without the
// tenure's state so the routing pass can plan a follow-up on it.
func silentForce(seed uint64, k int) uint8 {
	r := newRnd(seed, streamWrite, uint64(k), 1)
	if r.chance(0.6) {
		return forceMembers
	}
	return forceAsset
}
