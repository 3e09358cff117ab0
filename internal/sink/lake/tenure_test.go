package lake

import (
	"context"
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/tidemark-dev/tidemark/internal/ddbjson"
)

// Test data shaped like Hackney's TenureInformation table.

var (
	testNow      = time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC)
	tenureTypes  = [][2]string{{"SEC", "Secure"}, {"INT", "Introductory"}, {"LEA", "Leasehold (RTB)"}, {"TAF", "Tenant Acc Flat"}}
	assetTypes   = []string{"Dwelling", "Block", "LettableNonDwelling", "TravellerSite"}
	personTypes  = []string{"Tenant", "HouseholdMember", "Leaseholder", "Occupant"}
	firstNames   = []string{"Amara", "Ben", "Chloe", "Dev", "Esi", "Farah", "Gus"}
	billingFreqs = []string{"Weekly", "Monthly"}
)

func guid(prefix byte, i int) string {
	return fmt.Sprintf("%08x-0000-4000-8%03x-%012x", i, prefix, i*7919)
}

// tenure returns the image of the i-th test tenure. Every 50th tenure
// stores numberOfAdultsInProperty as a string: the mixed-kind attribute.
func tenure(i int) ddbjson.Map {
	tt := tenureTypes[i%len(tenureTypes)]
	m := ddbjson.Map{
		"id":               ddbjson.S(guid(1, i)),
		"paymentReference": ddbjson.S(fmt.Sprintf("%010d", 228000000+i)),
		"householdMembers": members(i),
		"tenuredAsset": ddbjson.M(ddbjson.Map{
			"id":                       ddbjson.S(guid(2, i)),
			"type":                     ddbjson.S(assetTypes[i%len(assetTypes)]),
			"fullAddress":              ddbjson.S(fmt.Sprintf("Flat %d, %d Mare Street, London E8 %dAB", i%40+1, i%300+1, i%9+1)),
			"uprn":                     ddbjson.S(fmt.Sprintf("1000%08d", i)),
			"propertyReference":        ddbjson.S(fmt.Sprintf("%08d", 10000+i)),
			"isTemporaryAccommodation": ddbjson.Bool(i%11 == 0),
		}),
		"charges": ddbjson.M(ddbjson.Map{
			"rent":             ddbjson.N(fmt.Sprintf("%d.%02d", 100+i%90, i%100)),
			"currentBalance":   ddbjson.N(fmt.Sprintf("%d.%d", 250-i%500, i%10)),
			"serviceCharge":    ddbjson.N(fmt.Sprint(i % 30)),
			"billingFrequency": ddbjson.S(billingFreqs[i%2]),
		}),
		"startOfTenureDate": ddbjson.S(fmt.Sprintf("20%02d-%02d-%02dT00:00:00.0000000Z", i%25, i%12+1, i%28+1)),
		"endOfTenureDate":   endDate(i),
		"tenureType":        ddbjson.M(ddbjson.Map{"code": ddbjson.S(tt[0]), "description": ddbjson.S(tt[1])}),
		"isTenanted":        ddbjson.Bool(i%3 != 0),
		"terminated": ddbjson.M(ddbjson.Map{
			"isTerminated":         ddbjson.Bool(i%17 == 0),
			"reasonForTermination": ddbjson.S(""),
		}),
		"legacyReferences": ddbjson.L(
			ddbjson.M(ddbjson.Map{"name": ddbjson.S("uh_tag_ref"), "value": ddbjson.S(fmt.Sprintf("%06d/01", i))}),
			ddbjson.M(ddbjson.Map{"name": ddbjson.S("u_saff_tenancy"), "value": ddbjson.S(fmt.Sprint(i))}),
		),
		"notices":                  ddbjson.L(),
		"versionNumber":            ddbjson.N(fmt.Sprint(i % 7)),
		"numberOfAdultsInProperty": ddbjson.N(fmt.Sprint(i%4 + 1)),
	}
	if i%50 == 7 {
		m["numberOfAdultsInProperty"] = ddbjson.S("unknown")
	}
	return m
}

func members(i int) ddbjson.Value {
	n := i%3 + 1
	vs := make([]ddbjson.Value, n)
	for j := range vs {
		vs[j] = ddbjson.M(ddbjson.Map{
			"id":               ddbjson.S(guid(3, i*4+j)),
			"type":             ddbjson.S("Person"),
			"fullName":         ddbjson.S(fmt.Sprintf("%s Example%d", firstNames[(i+j)%len(firstNames)], i)),
			"isResponsible":    ddbjson.Bool(j == 0),
			"dateOfBirth":      ddbjson.S(fmt.Sprintf("19%02d-%02d-%02dT00:00:00", 40+(i+j)%60, j+1, i%28+1)),
			"personTenureType": ddbjson.S(personTypes[(i+j)%len(personTypes)]),
		})
	}
	return ddbjson.L(vs...)
}

func endDate(i int) ddbjson.Value {
	switch i % 4 {
	case 0:
		return ddbjson.Null()
	case 1:
		return ddbjson.S("")
	case 2:
		return ddbjson.S(fmt.Sprintf("2030-%02d-01T00:00:00Z", i%12+1))
	}
	return ddbjson.Value{} // absent
}

// tenureRow is the i-th current-table row.
func tenureRow(i int) Row {
	img := tenure(i)
	if img["endOfTenureDate"].Kind == ddbjson.KindInvalid {
		delete(img, "endOfTenureDate")
	}
	return Row{
		Key:        guid(1, i),
		Version:    img["versionNumber"].Str,
		Op:         "snapshot",
		Source:     "export",
		IngestedAt: testNow.Add(-time.Hour),
		Image:      img,
	}
}

// sliceScanner scans rows in order, passing a reused Row as the caller does.
func sliceScanner(rows []Row) Scanner {
	return func(fn func(*Row) error) error {
		var r Row
		for i := range rows {
			r = rows[i]
			if err := fn(&r); err != nil {
				return err
			}
			r = Row{Key: "reused"} // fn must not have kept it
		}
		return nil
	}
}

// genScanner scans n generated tenure rows.
func genScanner(n int) Scanner {
	return func(fn func(*Row) error) error {
		var r Row
		for i := range n {
			r = tenureRow(i)
			if err := fn(&r); err != nil {
				return err
			}
		}
		return nil
	}
}

func tenureRows(n int) []Row {
	rows := make([]Row, n)
	for i := range rows {
		rows[i] = tenureRow(i)
	}
	return rows
}

// publish runs Publish into a fresh lake and fails t on error.
func publish(t testing.TB, kind Kind, rows []Row) (Result, string) {
	t.Helper()
	dir := t.TempDir()
	res, err := Publish(context.Background(), Options{Dir: dir, Entity: "tenure", Kind: kind, Now: testNow}, sliceScanner(rows))
	if err != nil {
		t.Fatalf("Publish: %v", err)
	}
	return res, dir
}

// allFiles lists every file name in dir.
func allFiles(t testing.TB, dir string) []string {
	t.Helper()
	es, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range es {
		out = append(out, e.Name())
	}
	return out
}
