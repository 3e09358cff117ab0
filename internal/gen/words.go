package gen

// Small built-in word lists: enough variety for plausible fake data, no
// download, no personal data of real people.

var firstNames = []string{
	"Aisha", "Abdul", "Adebayo", "Agnieszka", "Alan", "Amara", "Andrea", "Bernard", "Bola", "Chloe",
	"Chidi", "Daniel", "Deborah", "Delroy", "Efua", "Elif", "Emma", "Fatima", "Femi", "George",
	"Grace", "Hannah", "Hassan", "Ibrahim", "Ivy", "Jamal", "Joan", "Kemal", "Kwame", "Leah",
	"Marcus", "Maria", "Mehmet", "Miriam", "Mohammed", "Nadia", "Nkechi", "Oliver", "Patrice", "Priya",
	"Rachel", "Rashid", "Rosa", "Samuel", "Sara", "Shanice", "Tariq", "Tomasz", "Yusuf", "Zeynep",
}

var lastNames = []string{
	"Adeyemi", "Ahmed", "Akhtar", "Allen", "Baker", "Begum", "Brown", "Campbell", "Clarke", "Cohen",
	"Da Silva", "Davies", "Demir", "Edwards", "Evans", "Francis", "Green", "Hall", "Hussain", "Ibrahim",
	"James", "Johnson", "Kaya", "Khan", "Kowalski", "Lewis", "Mensah", "Miah", "Murphy", "Nowak",
	"O'Brien", "Okafor", "Osei", "Patel", "Reid", "Roberts", "Rahman", "Scott", "Shah", "Smith",
	"Taylor", "Thomas", "Turner", "Uddin", "Walker", "Watson", "White", "Williams", "Wright", "Yilmaz",
}

var organisations = []string{
	"Hackney Housing Co-operative Ltd", "Clapton Community Trust", "Shoreditch Tenants Association",
	"Homerton Care Partnership", "Dalston Supported Living CIC", "Stoke Newington Almshouses",
}

var streets = []string{
	"Amhurst Road", "Balls Pond Road", "Cassland Road", "Chatsworth Road", "Clapton Common", "Dalston Lane",
	"Downs Road", "Evering Road", "Graham Road", "Greenwood Road", "Hackney Road", "Homerton High Street",
	"Kingsland Road", "Lansdowne Drive", "Lower Clapton Road", "Mare Street", "Mehetabel Road",
	"Morning Lane", "Nightingale Road", "Pembury Road", "Queensbridge Road", "Rectory Road", "Richmond Road",
	"Sandringham Road", "Shacklewell Lane", "Stamford Hill", "Upper Clapton Road", "Victoria Park Road",
	"Wilton Way", "Wick Road",
}

var buildings = []string{
	"Arden House", "Banister House", "Bayford House", "Beckford House", "Colville Estate", "Fellows Court",
	"Frampton Park Estate", "Holly Street Estate", "Kingsmead Estate", "Lyme Grove House", "Mandeville Court",
	"Nightingale Estate", "Pembury Estate", "Rogers Estate", "Somerford Grove", "Trowbridge Estate",
	"Wenlock Barn Estate", "Woodberry Down",
}

var postcodes = []string{
	"E2 8", "E5 0", "E5 8", "E5 9", "E8 1", "E8 2", "E8 3", "E8 4", "E9 5", "E9 6", "E9 7",
	"N1 5", "N1 6", "N16 0", "N16 5", "N16 6", "N16 7", "N16 8", "N4 1", "N4 2",
}

// tenureType is one of the 27 tenure type codes of the Tenure API.
type tenureType struct {
	code, desc string
	weight     int
}

var tenureTypes = []tenureType{
	{"SEC", "Secure", 420}, {"LEA", "Leasehold (RTB)", 180}, {"INT", "Introductory", 50},
	{"NON", "Non-Secure", 45}, {"TGA", "Tenant Garage", 40}, {"TAF", "Tenant Acc Flat", 25},
	{"TBB", "Temp B&B", 30}, {"THO", "Temp Hostel", 20}, {"FRE", "Freehold", 25}, {"SHO", "Shared Owners", 20},
	{"ASY", "Asylum Seeker", 5}, {"COM", "Commercial Let", 8}, {"DEC", "Temp Decant", 10},
	{"FRS", "Freehold (Serv)", 8}, {"LHS", "Lse 100% Stair", 6}, {"LTA", "License Temp Ac", 12},
	{"MPA", "Mesne Profit Ac", 8}, {"PVG", "Private Garage", 10}, {"RSL", "Registered Social Landlord", 4},
	{"RTM", "RenttoMortgage", 2}, {"SLL", "Short Life Lse", 6}, {"SPS", "Private Sale LH", 5},
	{"SSE", "Shared Equity", 4}, {"THL", "Temp Hostel Lse", 8}, {"TLA", "Temp Annex", 6},
	{"TPL", "Temp Private Lt", 15}, {"TRA", "Temp Traveller", 3},
}

var tenureTypeWeights = func() []int {
	w := make([]int, len(tenureTypes))
	for i, t := range tenureTypes {
		w[i] = t.weight
	}
	return w
}()

// temporary reports whether a tenure type is temporary accommodation.
func (t tenureType) temporary() bool {
	switch t.code {
	case "TBB", "THO", "THL", "TLA", "TPL", "TRA", "DEC", "LTA", "ASY":
		return true
	}
	return false
}

// personTenureType follows the Tenure API's rule for a household member.
func (t tenureType) personTenureType(responsible bool) string {
	switch {
	case !responsible && t.code == "TGA":
		return "Occupant"
	case !responsible:
		return "HouseholdMember"
	case t.code == "FRE" || t.code == "FRS":
		return "Freeholder"
	case t.code == "LEA" || t.code == "RSL":
		return "Leaseholder"
	}
	return "Tenant"
}

var assetTypes = []string{"Dwelling", "Dwelling", "Dwelling", "Dwelling", "Block", "LettableNonDwelling", "Concierge", "MediumRiseBlock", "NA", "TravellerSite"}

var agreementTypes = [][2]string{{"M", "Master Account"}, {"M", "Master Account"}, {"M", "Master Account"}, {"S", "Sub-Account"}, {"R", "Rent Account"}}

var terminationReasons = []string{"Deceased", "Transfer", "Abandoned", "Evicted", "Notice Given", "Mutual Exchange", "Right To Buy"}

var noticeTypes = []string{"Notice to Quit", "Notice of Seeking Possession", "Section 21", "Notice of Intention", "Section 146"}

var fundingSources = []string{"Housing Revenue Account", "General Fund", "Temporary Accommodation Grant"}

var tenureSources = []string{"UH", "MTFH", "Manual", "Processes"}

var bookingStatuses = []string{"Booked", "Pending", "Cancelled", "Checked In", "Checked Out"}

var billingFrequencies = []string{"Weekly", "Weekly", "Weekly", "Monthly", "Quarterly", "Annually"}

var noRentReasons = []string{"Leaseholder", "Garage only", "Paid by Housing Benefit", "Temporary accommodation"}

// officers are the users whose names appear in the events' user field.
var officers = func() [][2]string {
	out := make([][2]string, 0, 24)
	for i := 0; i < 24; i++ {
		f, l := firstNames[(i*7)%len(firstNames)], lastNames[(i*11)%len(lastNames)]
		out = append(out, [2]string{f + " " + l, emailOf(f, l)})
	}
	return out
}()

func emailOf(first, last string) string {
	b := make([]byte, 0, len(first)+len(last)+16)
	for _, s := range []string{first, ".", last} {
		for i := 0; i < len(s); i++ {
			c := s[i]
			switch {
			case c >= 'A' && c <= 'Z':
				b = append(b, c+'a'-'A')
			case c >= 'a' && c <= 'z', c == '.':
				b = append(b, c)
			}
		}
	}
	return string(b) + "@hackney.gov.uk"
}
