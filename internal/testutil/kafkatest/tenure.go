// Package kafkatest runs Kafka (franz-go's kfake) and a schema registry
// (srfake) in process for tests, and makes Hackney tenure records: JSON
// entity events and the council's 2022 Avro shape (TenureSchema2022).
package kafkatest

import (
	_ "embed"
	"fmt"
	"math"
	"testing"
	"time"

	hamba "github.com/hamba/avro/v2"

	"github.com/tidemark-dev/tidemark/internal/config"
	"github.com/tidemark-dev/tidemark/internal/event"
)

// TenureSchema2022 is the Avro schema of a tenure as the Tenure API sent it
// in 2022: PascalCase fields, int Unix-second dates, int.MinValue for an
// empty date, no versionNumber.
//
//go:embed tenure_2022.avsc
var TenureSchema2022 string

// EmptyDate is int.MinValue, the 2022 producers' empty date.
const EmptyDate = math.MinInt32

// Tenure2022 is a tenure in the 2022 Avro shape.
type Tenure2022 struct {
	ID                              string          `avro:"Id"`
	PaymentReference                *string         `avro:"PaymentReference"`
	HouseholdMembers                []Member2022    `avro:"HouseholdMembers"`
	TenuredAsset                    Asset2022       `avro:"TenuredAsset"`
	Charges                         *Charges2022    `avro:"Charges"`
	StartOfTenureDate               int32           `avro:"StartOfTenureDate"`
	EndOfTenureDate                 int32           `avro:"EndOfTenureDate"`
	SuccessionDate                  int32           `avro:"SuccessionDate"`
	EvictionDate                    int32           `avro:"EvictionDate"`
	PotentialEndDate                int32           `avro:"PotentialEndDate"`
	SubletEndDate                   int32           `avro:"SubletEndDate"`
	TenureType                      CodeDesc2022    `avro:"TenureType"`
	IsTenanted                      *bool           `avro:"IsTenanted"`
	Terminated                      Terminated2022  `avro:"Terminated"`
	AgreementType                   CodeDesc2022    `avro:"AgreementType"`
	Notices                         []Notice2022    `avro:"Notices"`
	LegacyReferences                []NameValue2022 `avro:"LegacyReferences"`
	IsMutualExchange                *bool           `avro:"IsMutualExchange"`
	InformHousingBenefitsForChanges *bool           `avro:"InformHousingBenefitsForChanges"`
	IsSublet                        *bool           `avro:"IsSublet"`
}

// Member2022 is a household member.
type Member2022 struct {
	ID               string `avro:"Id"`
	Type             string `avro:"Type"`
	FullName         string `avro:"FullName"`
	IsResponsible    bool   `avro:"IsResponsible"`
	DateOfBirth      int32  `avro:"DateOfBirth"`
	PersonTenureType string `avro:"PersonTenureType"`
}

// Asset2022 is the tenured asset.
type Asset2022 struct {
	ID                string  `avro:"Id"`
	Type              string  `avro:"Type"`
	FullAddress       string  `avro:"FullAddress"`
	Uprn              *string `avro:"Uprn"`
	PropertyReference *string `avro:"PropertyReference"`
}

// Charges2022 are the tenure's charges: money as doubles, and some as ints.
type Charges2022 struct {
	Rent                   float64 `avro:"Rent"`
	CurrentBalance         float64 `avro:"CurrentBalance"`
	BillingFrequency       string  `avro:"BillingFrequency"`
	ServiceCharge          float64 `avro:"ServiceCharge"`
	OtherCharges           float64 `avro:"OtherCharges"`
	CombinedServiceCharges float64 `avro:"CombinedServiceCharges"`
	CombinedRentCharges    float64 `avro:"CombinedRentCharges"`
	TenancyInsuranceCharge int32   `avro:"TenancyInsuranceCharge"`
	OriginalRentCharge     float64 `avro:"OriginalRentCharge"`
	OriginalServiceCharge  int32   `avro:"OriginalServiceCharge"`
}

// CodeDesc2022 is a {Code, Description} pair (tenure and agreement types).
type CodeDesc2022 struct {
	Code        string `avro:"Code"`
	Description string `avro:"Description"`
}

// Terminated2022 says whether and why a tenure ended.
type Terminated2022 struct {
	IsTerminated         bool    `avro:"IsTerminated"`
	ReasonForTermination *string `avro:"ReasonForTermination"`
}

// Notice2022 is a notice served on the tenancy.
type Notice2022 struct {
	Type          string `avro:"Type"`
	ServedDate    int32  `avro:"ServedDate"`
	ExpiryDate    int32  `avro:"ExpiryDate"`
	EffectiveDate int32  `avro:"EffectiveDate"`
	EndDate       int32  `avro:"EndDate"`
}

// NameValue2022 is a legacy reference (uh_tag_ref, u_saff_tenancy).
type NameValue2022 struct {
	Name  string `avro:"Name"`
	Value string `avro:"Value"`
}

// TenureID is the GUID of tenure i.
func TenureID(i int) string {
	return fmt.Sprintf("%08x-4b2c-4d3e-8f4a-%012x", 0x6f1a0000+i, 0x5b6c7d8e0000+i)
}

func ptr[T any](v T) *T { return &v }

var tenureTypes = []CodeDesc2022{{"SEC", "Secure"}, {"INT", "Introductory"}, {"LEA", "Leasehold (RTB)"},
	{"TAF", "Tenant Acc Flat"}, {"NON", "Non-Secure"}}

// NewTenure2022 returns tenure i, deterministic: every third one has ended
// (EndOfTenureDate set), the others carry int.MinValue empty dates.
func NewTenure2022(i int) Tenure2022 {
	start := time.Date(2009+i%12, time.Month(1+i%12), 1+i%28, 0, 0, 0, 0, time.UTC).Unix()
	end := int32(EmptyDate)
	if i%3 == 0 {
		end = int32(start + 86400*365*5)
	}
	t := Tenure2022{
		ID:               TenureID(i),
		PaymentReference: ptr(fmt.Sprintf("%010d", 1900000000+i)),
		HouseholdMembers: []Member2022{{
			ID: fmt.Sprintf("%08x-1a2b-4c3d-9e4f-%012x", 0x2d4e0000+i, i), Type: "Person",
			FullName: fmt.Sprintf("Tenant Number%d", i), IsResponsible: true,
			DateOfBirth: int32(time.Date(1960+i%40, 4, 13, 0, 0, 0, 0, time.UTC).Unix()), PersonTenureType: "Tenant",
		}},
		TenuredAsset: Asset2022{ID: fmt.Sprintf("%08x-7c8d-4e9f-a0b1-%012x", 0x3e5f0000+i, i), Type: "Dwelling",
			FullAddress: fmt.Sprintf("Flat %d, Maple House, 1 Mare Street, London E8 %dXY", 1+i%90, 1+i%9),
			Uprn:        ptr(fmt.Sprintf("1000%08d", i)), PropertyReference: ptr(fmt.Sprintf("%08d", 100000+i))},
		Charges: &Charges2022{Rent: 105.37 + float64(i%50), CurrentBalance: -12.5, BillingFrequency: "Weekly",
			ServiceCharge: 9.1, OtherCharges: 0, CombinedServiceCharges: 9.1, CombinedRentCharges: 114.47,
			TenancyInsuranceCharge: 2, OriginalRentCharge: 101.99, OriginalServiceCharge: 9},
		StartOfTenureDate: int32(start), EndOfTenureDate: end, SuccessionDate: EmptyDate, EvictionDate: EmptyDate,
		PotentialEndDate: EmptyDate, SubletEndDate: EmptyDate,
		TenureType:       tenureTypes[i%len(tenureTypes)],
		IsTenanted:       ptr(i%3 != 0),
		Terminated:       Terminated2022{IsTerminated: i%3 == 0},
		AgreementType:    CodeDesc2022{Code: "M", Description: "Master Account"},
		Notices:          []Notice2022{},
		LegacyReferences: []NameValue2022{{Name: "uh_tag_ref", Value: fmt.Sprintf("%06d/01", i)}},
		IsMutualExchange: ptr(false),
		IsSublet:         ptr(false),
	}
	if i%3 == 0 {
		t.Terminated.ReasonForTermination = ptr("Moved out")
		t.Notices = []Notice2022{{Type: "Notice to Quit", ServedDate: int32(start + 86400*365*4), ExpiryDate: EmptyDate,
			EffectiveDate: int32(start + 86400*365*4 + 86400*28), EndDate: EmptyDate}}
	}
	return t
}

// TenureSchema parses TenureSchema2022.
func TenureSchema(t testing.TB) hamba.Schema {
	t.Helper()
	s, err := hamba.Parse(TenureSchema2022)
	if err != nil {
		t.Fatalf("parsing the 2022 tenure schema: %v", err)
	}
	return s
}

// EncodeAvro encodes v with schema and frames it in the Confluent wire
// format with schema id.
func EncodeAvro(t testing.TB, schema hamba.Schema, id int, v any) []byte {
	t.Helper()
	body, err := hamba.Marshal(schema, v)
	if err != nil {
		t.Fatalf("encoding Avro: %v", err)
	}
	out := []byte{0, byte(id >> 24), byte(id >> 16), byte(id >> 8), byte(id)}
	return append(out, body...)
}

// TenureEvent is the JSON Hackney event number seq of tenure i: a
// TenureCreatedEvent for seq 0, then TenureUpdatedEvents changing the
// payment reference.
func TenureEvent(i, seq int) []byte {
	at := time.Date(2024, 3, 1, 9, 0, 0, 0, time.UTC).Add(time.Duration(i*100+seq) * time.Second).Format("2006-01-02T15:04:05.0000000Z")
	id := fmt.Sprintf("%08x-0e1f-4a2b-8c3d-%012x", 0x7a000000+i, seq)
	if seq == 0 {
		return fmt.Appendf(nil, `{"id":%q,"eventType":"TenureCreatedEvent","sourceDomain":"Tenure","sourceSystem":"TenureAPI",`+
			`"version":"v1","correlationId":%q,"dateTime":%q,"user":{"name":"Housing Officer","email":"officer@hackney.gov.uk"},`+
			`"entityId":%q,"eventData":{"oldData":null,"newData":{"id":%q,"paymentReference":"%010d","isTenanted":true,`+
			`"tenureType":{"code":"SEC","description":"Secure"},"startOfTenureDate":"2019-06-01T00:00:00.0000000Z"}}}`,
			id, id, at, TenureID(i), TenureID(i), 1900000000+i)
	}
	return fmt.Appendf(nil, `{"id":%q,"eventType":"TenureUpdatedEvent","sourceDomain":"Tenure","sourceSystem":"TenureAPI",`+
		`"version":"v1","correlationId":%q,"dateTime":%q,"user":{"name":"Housing Officer","email":"officer@hackney.gov.uk"},`+
		`"entityId":%q,"eventData":{"oldData":{"paymentReference":"%010d"},"newData":{"paymentReference":"%010d"}}}`,
		id, id, at, TenureID(i), 1900000000+i+seq-1, 1900000000+i+seq)
}

// TenureEntity is the tenure entity's mapping (hash key id, a GUID).
func TenureEntity() config.Entity {
	return config.Entity{Name: "tenure", Table: "TenureInformation",
		HashKey: config.KeyAttr{Name: "id", Type: "S", Format: "uuid"},
		Events:  map[string]string{"TenureCreatedEvent": "create", "TenureUpdatedEvent": "patch"}}
}

// Mapper is the event mapper of TenureEntity.
func Mapper(t testing.TB) *event.Mapper {
	t.Helper()
	m, err := event.NewMapper([]config.Entity{TenureEntity()})
	if err != nil {
		t.Fatal(err)
	}
	return m
}
