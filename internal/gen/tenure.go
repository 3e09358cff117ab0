package gen

import (
	"strconv"
	"time"

	"github.com/tidemark-dev/tidemark/internal/ddbjson"
)

// model is what a run fixes before any tenure is generated: the seed, the
// snapshot time, the number of tenures ever present and which of them are
// created during the simulated window. A tenure's base content (its state
// before the window, or at its creation) is a pure function of the model and
// its index; every field has its own random stream, so one field can be
// regenerated without the others.
type model struct {
	seed     uint64
	export   time.Time
	total    int
	createAt []int32 // per index: the write that creates it, or -1 (created long ago)
}

// core holds the choices that several fields of a tenure must agree on.
type core struct {
	typ     tenureType
	created bool // created during the window (a new tenure)
	ended   bool // the tenancy has ended
	old     bool // an old item that still carries removed attributes
	members int
	start   time.Time
	version int // versionNumber at the start of the window (0 for new ones)
}

func (m *model) core(idx int) core {
	r := newRnd(m.seed, streamTenure, uint64(idx), 0)
	c := core{typ: tenureTypes[r.weighted(tenureTypeWeights)], created: m.createAt[idx] >= 0}
	if c.created {
		c.start = m.export.Truncate(24*time.Hour).AddDate(0, 0, -r.intn(20)+5)
	} else {
		c.start = time.Date(1975+r.intn(50), time.Month(1+r.intn(12)), 1+r.intn(28), 0, 0, 0, 0, time.UTC)
		c.ended = r.chance(0.15)
		c.old = r.chance(0.08)
		c.version = r.intn(6)
		if r.chance(0.25) {
			c.version = r.between(6, 40)
		}
	}
	switch c.typ.code {
	case "TGA", "PVG", "COM":
		c.members = 1
	default:
		c.members = 1 + r.weighted([]int{40, 30, 15, 8, 4, 3})
	}
	return c
}

// field generates one top-level attribute; ok is false when it is absent.
type field struct {
	name string
	gen  func(m *model, c *core, r *rnd) (v ddbjson.Value, ok bool)
}

// fields lists the attributes in a fixed order: the position of a field is
// its random stream, so the list may only grow at the end.
var fields = []field{
	{"paymentReference", genPaymentReference},
	{"householdMembers", genHouseholdMembers},
	{"tenuredAsset", genTenuredAsset},
	{"charges", genCharges},
	{"startOfTenureDate", func(_ *model, c *core, _ *rnd) (ddbjson.Value, bool) { return ddbjson.S(tenureDate(c.start)), true }},
	{"endOfTenureDate", genEndOfTenureDate},
	{"successionDate", genRareDate},
	{"evictionDate", genRareDate},
	{"potentialEndDate", genRareDate},
	{"subletEndDate", genRareDate},
	{"tenureType", func(_ *model, c *core, _ *rnd) (ddbjson.Value, bool) { return tenureTypeValue(c.typ), true }},
	{"isTenanted", genIsTenanted},
	{"terminated", genTerminated},
	{"agreementType", genAgreementType},
	{"notices", genNotices},
	{"legacyReferences", genLegacyReferences},
	{"isMutualExchange", genFlag(0.03, false)},
	{"informHousingBenefitsForChanges", genFlag(0.2, false)},
	{"isSublet", genFlag(0.02, false)},
	{"hasOffsiteStorage", genFlag(0.05, true)},
	{"tenureSource", genChoice(tenureSources, 0.6)},
	{"fundingSource", genChoice(fundingSources, 0.5)},
	{"numberOfAdultsInProperty", genCount(0, 4)},
	{"numberOfChildrenInProperty", genCount(0, 5)},
	{"tempAccommodationInfo", genTempAccommodation},
	{"furtherAccountInformation", genFurtherAccountInformation},
	{"isActive", genIsActive},
	{"accountType", genAccountType},
}

// fieldIndex maps an attribute name to its position in fields.
var fieldIndex = func() map[string]int {
	out := make(map[string]int, len(fields))
	for i, f := range fields {
		out[f.name] = i
	}
	return out
}()

// item returns the base image of tenure idx with its versionNumber.
func (m *model) item(idx int) ddbjson.Map {
	return m.itemInto(make(ddbjson.Map, len(fields)+2), idx)
}

// itemInto is item into a cleared map it (reused to spare allocations).
func (m *model) itemInto(it ddbjson.Map, idx int) ddbjson.Map {
	clear(it)
	c := m.core(idx)
	it["id"] = ddbjson.S(tenureID(m.seed, idx, m.total))
	for i := range fields {
		if v, ok := m.genField(idx, i, &c); ok {
			it[fields[i].name] = v
		}
	}
	it["versionNumber"] = ddbjson.N(strconv.Itoa(c.version))
	return it
}

func (m *model) genField(idx, i int, c *core) (ddbjson.Value, bool) {
	r := newRnd(m.seed, streamTenure, uint64(idx), uint64(i+1))
	return fields[i].gen(m, c, &r)
}

// baseField returns one attribute of the base image; the zero Value when the
// base image does not have it.
func (m *model) baseField(idx int, name string, c *core) ddbjson.Value {
	i, ok := fieldIndex[name]
	if !ok {
		return ddbjson.Value{}
	}
	v, _ := m.genField(idx, i, c)
	return v
}

// tenureDate formats a date as the Tenure API stores it.
func tenureDate(t time.Time) string { return t.Format("2006-01-02") + "T00:00:00.0000000Z" }

// codeValue returns {code, description}; values are shared, never changed in
// place, so the common ones are built once.
func codeValue(code, desc string) ddbjson.Value {
	return ddbjson.M(ddbjson.Map{"code": ddbjson.S(code), "description": ddbjson.S(desc)})
}

var tenureTypeValues = func() map[string]ddbjson.Value {
	out := make(map[string]ddbjson.Value, len(tenureTypes))
	for _, t := range tenureTypes {
		out[t.code] = codeValue(t.code, t.desc)
	}
	return out
}()

func tenureTypeValue(t tenureType) ddbjson.Value { return tenureTypeValues[t.code] }

var agreementTypeValues = func() []ddbjson.Value {
	out := make([]ddbjson.Value, len(agreementTypes))
	for i, a := range agreementTypes {
		out[i] = codeValue(a[0], a[1])
	}
	return out
}()

var notTerminated = ddbjson.M(ddbjson.Map{"isTerminated": ddbjson.Bool(false), "reasonForTermination": ddbjson.S("")})

func genPaymentReference(_ *model, _ *core, r *rnd) (ddbjson.Value, bool) {
	if r.chance(0.03) {
		return ddbjson.Null(), true
	}
	return ddbjson.S(paymentReference(r)), true
}

func paymentReference(r *rnd) string { return strconv.Itoa(1+r.intn(9)) + r.digits(9) }

func genHouseholdMembers(_ *model, c *core, r *rnd) (ddbjson.Value, bool) {
	list := make([]ddbjson.Value, c.members)
	for i := range list {
		list[i] = member(r, c.typ, i == 0 || (i == 1 && r.chance(0.3)))
	}
	return ddbjson.L(list...), true
}

// member returns one household member.
func member(r *rnd, typ tenureType, responsible bool) ddbjson.Value {
	m := ddbjson.Map{
		"id":               ddbjson.S(r.guid()),
		"type":             ddbjson.S("Person"),
		"isResponsible":    ddbjson.Bool(responsible),
		"personTenureType": ddbjson.S(typ.personTenureType(responsible)),
	}
	if responsible && r.chance(0.04) {
		m["type"] = ddbjson.S("Organisation")
		m["fullName"] = ddbjson.S(pick(r, organisations))
		m["dateOfBirth"] = ddbjson.S("0001-01-01T00:00:00")
		return ddbjson.M(m)
	}
	m["fullName"] = ddbjson.S(fullName(r))
	m["dateOfBirth"] = ddbjson.S(dateOfBirth(r, responsible))
	return ddbjson.M(m)
}

func fullName(r *rnd) string { return pick(r, firstNames) + " " + pick(r, lastNames) }

func dateOfBirth(r *rnd, adult bool) string {
	year := 1930 + r.intn(75)
	if !adult && r.chance(0.5) {
		year = 2005 + r.intn(20)
	}
	d := time.Date(year, time.Month(1+r.intn(12)), 1+r.intn(28), 0, 0, 0, 0, time.UTC).Format("2006-01-02")
	switch r.intn(10) {
	case 0, 1:
		return d + "T00:00:00Z"
	case 2:
		return d + "T00:00:00.0000000Z"
	}
	return d + "T00:00:00"
}

func genTenuredAsset(_ *model, c *core, r *rnd) (ddbjson.Value, bool) {
	uprn := "1000" + r.digits(8)
	typ := pick(r, assetTypes)
	if c.typ.code == "TGA" || c.typ.code == "PVG" {
		typ = "LettableNonDwelling"
	}
	return ddbjson.M(ddbjson.Map{
		"id":                       ddbjson.S(r.guid()),
		"type":                     ddbjson.S(typ),
		"fullAddress":              ddbjson.S(address(r)),
		"uprn":                     ddbjson.S(uprn),
		"propertyReference":        ddbjson.S("000" + r.digits(5)),
		"isTemporaryAccommodation": ddbjson.Bool(c.typ.temporary()),
	}), true
}

// address returns a Hackney-like address in one of the styles seen in the
// Tenure API's data.
func address(r *rnd) string {
	no := strconv.Itoa(1 + r.intn(180))
	street := pick(r, streets)
	pc := pick(r, postcodes) + string([]byte{byte('A' + r.intn(26)), byte('A' + r.intn(26))})
	switch r.intn(3) {
	case 0:
		return "Flat " + strconv.Itoa(1+r.intn(90)) + " " + pick(r, buildings) + ", " + no + " " + street + ", London, " + pc
	case 1:
		return no + " " + upper(street) + " - FLAT " + string(byte('A'+r.intn(6)))
	}
	return no + " " + street + ", Hackney, London " + pc
}

func upper(s string) string {
	b := []byte(s)
	for i, c := range b {
		if c >= 'a' && c <= 'z' {
			b[i] = c - 'a' + 'A'
		}
	}
	return string(b)
}

func genCharges(_ *model, c *core, r *rnd) (ddbjson.Value, bool) {
	if r.chance(0.08) {
		return ddbjson.Null(), true
	}
	rent := r.money(80, 260)
	if c.typ.personTenureType(true) != "Tenant" {
		rent = "0"
	}
	ch := ddbjson.Map{
		"rent":                   ddbjson.N(rent),
		"currentBalance":         ddbjson.N(r.money(-400, 2500)),
		"serviceCharge":          ddbjson.N(r.money(0, 45)),
		"otherCharges":           ddbjson.N(zeroOr(r, 0.8, 0, 20)),
		"combinedServiceCharges": ddbjson.N(zeroOr(r, 0.6, 0, 60)),
		"combinedRentCharges":    ddbjson.N(zeroOr(r, 0.6, 80, 300)),
		"tenancyInsuranceCharge": ddbjson.N(zeroOr(r, 0.85, 1, 6)),
		"originalRentCharge":     ddbjson.N(zeroOr(r, 0.5, 70, 250)),
		"originalServiceCharge":  ddbjson.N(zeroOr(r, 0.5, 0, 40)),
		"billingFrequency":       ddbjson.S(pick(r, billingFrequencies)),
	}
	if r.chance(0.3) {
		ch["storageCharge"] = ddbjson.N(zeroOr(r, 0.7, 2, 15))
		ch["rentAdjustment"] = ddbjson.N(zeroOr(r, 0.8, -20, 20))
		ch["rentAdjustmentReason"] = ddbjson.Null()
		ch["isSuspended"] = ddbjson.Bool(r.chance(0.02))
	}
	return ddbjson.M(ch), true
}

// zeroOr returns "0" with probability p, else an amount.
func zeroOr(r *rnd, p float64, lo, hi int) string {
	if r.chance(p) {
		return "0"
	}
	return r.money(lo, hi)
}

func genEndOfTenureDate(_ *model, c *core, r *rnd) (ddbjson.Value, bool) {
	if c.ended {
		end := c.start.AddDate(1+r.intn(20), r.intn(12), 0)
		return ddbjson.S(tenureDate(end)), true
	}
	if c.old || r.chance(0.3) {
		return ddbjson.Value{}, false
	}
	return ddbjson.Null(), true
}

func genRareDate(_ *model, c *core, r *rnd) (ddbjson.Value, bool) {
	if c.old {
		return ddbjson.Value{}, false
	}
	if r.chance(0.04) {
		return ddbjson.S(tenureDate(c.start.AddDate(r.intn(15), r.intn(12), r.intn(28)))), true
	}
	return ddbjson.Null(), true
}

func genIsTenanted(_ *model, c *core, r *rnd) (ddbjson.Value, bool) {
	if c.old && r.chance(0.3) {
		return ddbjson.Null(), true
	}
	return ddbjson.Bool(!c.ended), true
}

func genTerminated(_ *model, c *core, r *rnd) (ddbjson.Value, bool) {
	if !c.ended {
		return notTerminated, true
	}
	return ddbjson.M(ddbjson.Map{"isTerminated": ddbjson.Bool(true), "reasonForTermination": ddbjson.S(pick(r, terminationReasons))}), true
}

func genAgreementType(_ *model, _ *core, r *rnd) (ddbjson.Value, bool) {
	return pick(r, agreementTypeValues), true
}

func genNotices(_ *model, c *core, r *rnd) (ddbjson.Value, bool) {
	if r.chance(0.85) {
		return ddbjson.L(), true
	}
	n := 1 + r.intn(2)
	list := make([]ddbjson.Value, n)
	for i := range list {
		list[i] = notice(r, c.start.AddDate(r.intn(20), r.intn(12), 0))
	}
	return ddbjson.L(list...), true
}

func notice(r *rnd, served time.Time) ddbjson.Value {
	date := func(t time.Time) ddbjson.Value { return ddbjson.S(tenureDate(t)) }
	end := ddbjson.Null()
	if r.chance(0.4) {
		end = date(served.AddDate(0, 6, 0))
	}
	return ddbjson.M(ddbjson.Map{
		"type":          ddbjson.S(pick(r, noticeTypes)),
		"servedDate":    date(served),
		"expiryDate":    date(served.AddDate(0, 1, 0)),
		"effectiveDate": date(served.AddDate(0, 0, 28)),
		"endDate":       end,
	})
}

func genLegacyReferences(_ *model, c *core, r *rnd) (ddbjson.Value, bool) {
	if c.created {
		return ddbjson.L(), true
	}
	ref := func(name, value string) ddbjson.Value {
		return ddbjson.M(ddbjson.Map{"name": ddbjson.S(name), "value": ddbjson.S(value)})
	}
	return ddbjson.L(
		ref("uh_tag_ref", r.digits(6)+"/0"+strconv.Itoa(1+r.intn(4))),
		ref("u_saff_tenancy", r.digits(8)),
	), true
}

func genFlag(p float64, nullable bool) func(*model, *core, *rnd) (ddbjson.Value, bool) {
	return func(_ *model, c *core, r *rnd) (ddbjson.Value, bool) {
		if nullable && r.chance(0.4) {
			return ddbjson.Null(), true
		}
		return ddbjson.Bool(r.chance(p)), true
	}
}

func genChoice(list []string, pNull float64) func(*model, *core, *rnd) (ddbjson.Value, bool) {
	return func(_ *model, c *core, r *rnd) (ddbjson.Value, bool) {
		if c.old {
			return ddbjson.Value{}, false
		}
		if r.chance(pNull) {
			return ddbjson.Null(), true
		}
		return ddbjson.S(pick(r, list)), true
	}
}

func genCount(lo, hi int) func(*model, *core, *rnd) (ddbjson.Value, bool) {
	return func(_ *model, c *core, r *rnd) (ddbjson.Value, bool) {
		if c.old {
			return ddbjson.Value{}, false
		}
		return ddbjson.N(strconv.Itoa(r.between(lo, hi))), true
	}
}

func genTempAccommodation(_ *model, c *core, r *rnd) (ddbjson.Value, bool) {
	if !c.typ.temporary() {
		return ddbjson.Value{}, false
	}
	first, last := pick(r, firstNames), pick(r, lastNames)
	return ddbjson.M(ddbjson.Map{
		"bookingStatus": ddbjson.S(pick(r, bookingStatuses)),
		"assignedOfficer": ddbjson.M(ddbjson.Map{
			"id":        ddbjson.S(r.guid()),
			"firstName": ddbjson.S(first),
			"lastName":  ddbjson.S(last),
			"email":     ddbjson.S(emailOf(first, last)),
		}),
	}), true
}

func genFurtherAccountInformation(_ *model, c *core, r *rnd) (ddbjson.Value, bool) {
	if c.old || !r.chance(0.3) {
		return ddbjson.Value{}, false
	}
	date := func() ddbjson.Value {
		if r.chance(0.5) {
			return ddbjson.Null()
		}
		return ddbjson.S(tenureDate(c.start.AddDate(0, 0, r.intn(60))))
	}
	required := r.chance(0.8)
	reason := ddbjson.Null()
	if !required {
		reason = ddbjson.S(pick(r, noRentReasons))
	}
	return ddbjson.M(ddbjson.Map{
		"isRentAccountRequired":  ddbjson.Bool(required),
		"noRentAccountReason":    reason,
		"rentLetterSentDate":     date(),
		"rentCardGivenDate":      date(),
		"tenureAcceptedDate":     date(),
		"tenureRefusedDate":      ddbjson.Null(),
		"isSection208NoticeSent": ddbjson.Bool(r.chance(0.6)),
	}), true
}

func genIsActive(_ *model, c *core, _ *rnd) (ddbjson.Value, bool) {
	if !c.old {
		return ddbjson.Value{}, false
	}
	return ddbjson.Bool(!c.ended), true
}

func genAccountType(_ *model, c *core, r *rnd) (ddbjson.Value, bool) {
	if !c.old {
		return ddbjson.Value{}, false
	}
	return pick(r, accountTypeValues), true
}

var accountTypeValues = []ddbjson.Value{codeValue("R", "Rent"), codeValue("L", "Leasehold"), codeValue("G", "Garage")}

// exportIndex returns the tenure at position pos of the export. DynamoDB
// writes an export in the order of its partitions (a hash of the key), not
// in key order, so consecutive items of a data file have unrelated ids. The
// generator does the same with a bijection on [0, total): pos*step + offset
// modulo total, where step is coprime with total and close to total times
// the golden ratio's fraction, so that neighbours land far apart and every
// stretch of the export covers the whole key range. (A loader that found
// the export in key order would be measured on an easier input than any
// real one.) step is m.exportStep().
func (m *model) exportIndex(pos int, step uint64) int {
	if m.total < 3 {
		return pos
	}
	n := uint64(m.total)
	return int((uint64(pos)*step + m.seed%n) % n)
}

// exportStep is the step of exportIndex: the first number coprime with
// total at or after 0.618 total.
func (m *model) exportStep() uint64 {
	n := uint64(m.total)
	step := n * 618 / 1000
	for gcd(step, n) != 1 {
		step++
	}
	return step
}

func gcd(a, b uint64) uint64 {
	for b != 0 {
		a, b = b, a%b
	}
	return a
}
