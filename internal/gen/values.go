package gen

import (
	"maps"
	"strconv"
	"time"

	"github.com/tidemark-dev/tidemark/internal/ddbjson"
)

// newValue returns a new value for field f of a tenure whose current value
// is old. It is usually different from old; update drops it when it is not.
func (m *model) newValue(st *tstate, f string, old ddbjson.Value, r *rnd) ddbjson.Value {
	switch f {
	case "paymentReference":
		return ddbjson.S(differentRef(old.Str, r))
	case "endOfTenureDate", "potentialEndDate", "subletEndDate":
		if !old.IsNull() && r.chance(0.5) {
			return ddbjson.Null()
		}
		return ddbjson.S(tenureDate(m.export.AddDate(0, 0, r.intn(400)-200)))
	case "charges":
		return m.newCharges(st, old, r)
	case "isTenanted", "informHousingBenefitsForChanges", "isSublet", "hasOffsiteStorage", "isMutualExchange":
		return ddbjson.Bool(old.Kind != ddbjson.KindBOOL || !old.Bool)
	case "tenureType":
		return tenureTypeValue(tenureTypes[r.weighted(tenureTypeWeights)])
	case "terminated":
		ended := !old.Map["isTerminated"].Bool
		reason := ""
		if ended {
			reason = pick(r, terminationReasons)
		}
		return ddbjson.M(ddbjson.Map{"isTerminated": ddbjson.Bool(ended), "reasonForTermination": ddbjson.S(reason)})
	case "numberOfAdultsInProperty", "numberOfChildrenInProperty":
		return ddbjson.N(strconv.Itoa(r.intn(6)))
	case "notices":
		list := append([]ddbjson.Value{}, old.List...)
		return ddbjson.L(append(list, notice(r, m.export.AddDate(0, 0, -r.intn(60)).Truncate(24*time.Hour)))...)
	case "agreementType":
		v, _ := genAgreementType(m, &st.c, r)
		return v
	case "fundingSource":
		return ddbjson.S(pick(r, fundingSources))
	case fieldAsset:
		return changeAsset(old, r)
	}
	return ddbjson.Null()
}

// differentRef returns a payment reference other than old.
func differentRef(old string, r *rnd) string {
	for {
		if s := paymentReference(r); s != old {
			return s
		}
	}
}

// newCharges returns the charges after a rent change or a payment: the whole
// map, as the Tenure API sends it.
func (m *model) newCharges(st *tstate, old ddbjson.Value, r *rnd) ddbjson.Value {
	ch := maps.Clone(old.Map)
	if old.Kind != ddbjson.KindM {
		v, _ := genCharges(m, &st.c, r)
		if v.Kind == ddbjson.KindM {
			return v
		}
		ch = ddbjson.Map{"billingFrequency": ddbjson.S("Weekly")}
	}
	ch["currentBalance"] = ddbjson.N(r.money(-400, 2500))
	if r.chance(0.5) {
		ch["rent"] = ddbjson.N(r.money(80, 260))
	}
	if r.chance(0.3) {
		ch["serviceCharge"] = ddbjson.N(zeroOr(r, 0.2, 0, 45))
	}
	return ddbjson.M(ch)
}

// changeAsset returns the tenured asset with a corrected address (and now
// and then a new property reference).
func changeAsset(old ddbjson.Value, r *rnd) ddbjson.Value {
	a := maps.Clone(old.Map)
	if a == nil {
		a = ddbjson.Map{"id": ddbjson.S(r.guid()), "type": ddbjson.S("Dwelling"), "isTemporaryAccommodation": ddbjson.Bool(false)}
	}
	prev := a["fullAddress"].Str
	for {
		if s := address(r); s != prev {
			a["fullAddress"] = ddbjson.S(s)
			break
		}
	}
	if r.chance(0.2) {
		a["propertyReference"] = ddbjson.S("000" + r.digits(5))
	}
	return ddbjson.M(a)
}
