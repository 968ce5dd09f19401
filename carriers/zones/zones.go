// Package zones tells the time zone of a place a carrier names, for the
// carriers that give an event's local time without its offset. A zone is
// only given where one zone covers the whole place: a country with one
// zone, or a US state, Canadian province or Australian state with one. For
// a place that spans several (Texas, Florida, Russia, Brazil) the honest
// answer is "not known", and the event is marked so.
package zones

import (
	"strings"
	"sync"
	"time"

	"github.com/trackd/trackd/tracking"
)

// countries with a single zone, by ISO 3166-1 alpha-2 code. Countries with
// several zones are listed by region below, or absent.
var countries = map[string]string{
	"AE": "Asia/Dubai", "AT": "Europe/Vienna", "BE": "Europe/Brussels", "BG": "Europe/Sofia",
	"CH": "Europe/Zurich", "CN": "Asia/Shanghai", "CZ": "Europe/Prague", "DE": "Europe/Berlin",
	"DK": "Europe/Copenhagen", "EE": "Europe/Tallinn", "FI": "Europe/Helsinki", "FR": "Europe/Paris",
	"GB": "Europe/London", "GR": "Europe/Athens", "HK": "Asia/Hong_Kong", "HR": "Europe/Zagreb",
	"HU": "Europe/Budapest", "IE": "Europe/Dublin", "IL": "Asia/Jerusalem", "IN": "Asia/Kolkata",
	"IS": "Atlantic/Reykjavik", "IT": "Europe/Rome", "JP": "Asia/Tokyo", "KR": "Asia/Seoul",
	"LT": "Europe/Vilnius", "LU": "Europe/Luxembourg", "LV": "Europe/Riga", "MT": "Europe/Malta",
	"MY": "Asia/Kuala_Lumpur", "NL": "Europe/Amsterdam", "NO": "Europe/Oslo", "PH": "Asia/Manila",
	"PL": "Europe/Warsaw", "PR": "America/Puerto_Rico", "RO": "Europe/Bucharest", "RS": "Europe/Belgrade",
	"SA": "Asia/Riyadh", "SE": "Europe/Stockholm", "SG": "Asia/Singapore", "SI": "Europe/Ljubljana",
	"SK": "Europe/Bratislava", "TH": "Asia/Bangkok", "TR": "Europe/Istanbul", "TW": "Asia/Taipei",
	"VN": "Asia/Ho_Chi_Minh", "ZA": "Africa/Johannesburg", "NZ": "Pacific/Auckland",
	"CO": "America/Bogota", "PE": "America/Lima", "CR": "America/Costa_Rica", "PA": "America/Panama",
	"GT": "America/Guatemala", "SV": "America/El_Salvador", "DO": "America/Santo_Domingo",
	"JM": "America/Jamaica", "EG": "Africa/Cairo", "MA": "Africa/Casablanca", "NG": "Africa/Lagos",
	"KE": "Africa/Nairobi", "PK": "Asia/Karachi", "BD": "Asia/Dhaka", "LK": "Asia/Colombo",
	"QA": "Asia/Qatar", "KW": "Asia/Kuwait", "BH": "Asia/Bahrain", "OM": "Asia/Muscat", "JO": "Asia/Amman",
	"LB": "Asia/Beirut", "CY": "Asia/Nicosia", "UA": "Europe/Kyiv", "BY": "Europe/Minsk",
	"BA": "Europe/Sarajevo", "MK": "Europe/Skopje", "AL": "Europe/Tirane", "ME": "Europe/Podgorica",
	"MD": "Europe/Chisinau", "GE": "Asia/Tbilisi", "AM": "Asia/Yerevan", "MC": "Europe/Monaco",
	"LI": "Europe/Vaduz", "AD": "Europe/Andorra", "SM": "Europe/San_Marino", "VA": "Europe/Vatican",
	"GU": "Pacific/Guam", "VI": "America/St_Thomas",
}

// Regions of countries with several zones, where the region has one. A
// region absent here spans several zones (or is unknown).
var regions = map[string]map[string]string{
	"US": {
		"AL": "America/Chicago", "AK": "", "AZ": "America/Phoenix", "AR": "America/Chicago",
		"CA": "America/Los_Angeles", "CO": "America/Denver", "CT": "America/New_York",
		"DE": "America/New_York", "DC": "America/New_York", "GA": "America/New_York",
		"HI": "Pacific/Honolulu", "IL": "America/Chicago", "IA": "America/Chicago",
		"LA": "America/Chicago", "ME": "America/New_York", "MD": "America/New_York",
		"MA": "America/New_York", "MN": "America/Chicago", "MS": "America/Chicago",
		"MO": "America/Chicago", "MT": "America/Denver", "NH": "America/New_York",
		"NJ": "America/New_York", "NM": "America/Denver", "NY": "America/New_York",
		"NC": "America/New_York", "OH": "America/New_York", "OK": "America/Chicago",
		"PA": "America/New_York", "RI": "America/New_York", "SC": "America/New_York",
		"UT": "America/Denver", "VT": "America/New_York", "VA": "America/New_York",
		"WA": "America/Los_Angeles", "WV": "America/New_York", "WI": "America/Chicago",
		"WY": "America/Denver", "PR": "America/Puerto_Rico", "GU": "Pacific/Guam",
		"VI": "America/St_Thomas",
		// Multi-zone: FL, ID, IN, KS, KY, MI, NE, NV (one county), ND, OR, SD, TN, TX.
		"NV": "",
	},
	"CA": {
		"AB": "America/Edmonton", "MB": "America/Winnipeg", "NB": "America/Moncton",
		"NS": "America/Halifax", "NL": "America/St_Johns", "PE": "America/Halifax",
		"QC": "", "ON": "", "BC": "", "SK": "America/Regina", "YT": "America/Whitehorse",
		"NT": "America/Yellowknife", "NU": "",
	},
	"AU": {
		"NSW": "Australia/Sydney", "VIC": "Australia/Melbourne", "QLD": "Australia/Brisbane",
		"SA": "Australia/Adelaide", "WA": "Australia/Perth", "TAS": "Australia/Hobart",
		"ACT": "Australia/Sydney", "NT": "Australia/Darwin",
	},
}

// usStateNames lets a full state name stand for its code: carriers write
// either.
var usStateNames = map[string]string{
	"ALABAMA": "AL", "ARIZONA": "AZ", "ARKANSAS": "AR", "CALIFORNIA": "CA", "COLORADO": "CO",
	"CONNECTICUT": "CT", "DELAWARE": "DE", "DISTRICT OF COLUMBIA": "DC", "GEORGIA": "GA",
	"HAWAII": "HI", "ILLINOIS": "IL", "IOWA": "IA", "LOUISIANA": "LA", "MAINE": "ME",
	"MARYLAND": "MD", "MASSACHUSETTS": "MA", "MINNESOTA": "MN", "MISSISSIPPI": "MS",
	"MISSOURI": "MO", "MONTANA": "MT", "NEW HAMPSHIRE": "NH", "NEW JERSEY": "NJ",
	"NEW MEXICO": "NM", "NEW YORK": "NY", "NORTH CAROLINA": "NC", "OHIO": "OH", "OKLAHOMA": "OK",
	"PENNSYLVANIA": "PA", "RHODE ISLAND": "RI", "SOUTH CAROLINA": "SC", "UTAH": "UT",
	"VERMONT": "VT", "VIRGINIA": "VA", "WASHINGTON": "WA", "WEST VIRGINIA": "WV",
	"WISCONSIN": "WI", "WYOMING": "WY", "PUERTO RICO": "PR",
}

// countryNames lets the names carriers write stand for codes.
var countryNames = map[string]string{
	"UNITED STATES": "US", "UNITED STATES OF AMERICA": "US", "USA": "US", "CANADA": "CA",
	"AUSTRALIA": "AU", "GERMANY": "DE", "UNITED KINGDOM": "GB", "GREAT BRITAIN": "GB", "UK": "GB",
	"FRANCE": "FR", "NETHERLANDS": "NL", "CHINA": "CN", "JAPAN": "JP", "INDIA": "IN",
	"ITALY": "IT", "SPAIN": "ES", "PORTUGAL": "PT", "BRAZIL": "BR", "MEXICO": "MX", "RUSSIA": "RU", "BELGIUM": "BE", "POLAND": "PL", "IRELAND": "IE",
	"SWITZERLAND": "CH", "AUSTRIA": "AT", "SWEDEN": "SE", "DENMARK": "DK", "NORWAY": "NO",
	"HONG KONG": "HK", "SINGAPORE": "SG", "SOUTH KOREA": "KR", "KOREA": "KR", "TAIWAN": "TW",
}

// Lookup returns the zone of a place: country is an ISO 3166-1 alpha-2
// code or a common English name, region a state or province code or (for
// the US) its name. It reports false when the place spans several zones or
// is not known.
func Lookup(country, region string) (*time.Location, bool) {
	c := strings.ToUpper(strings.TrimSpace(country))
	if code, ok := countryNames[c]; ok {
		c = code
	}
	r := strings.ToUpper(strings.TrimSpace(region))
	if c == "US" || (c == "" && r != "") {
		if code, ok := usStateNames[r]; ok {
			r = code
		}
	}
	var name string
	switch byRegion, ok := regions[c]; {
	case ok:
		name = byRegion[r]
	case c == "" && r != "":
		// A state with no country: US carriers leave the country out at
		// home. Only a US state code or name is taken so.
		name = regions["US"][r]
	default:
		name = countries[c]
	}
	if name == "" {
		return nil, false
	}
	return load(name)
}

// loaded memoizes time.LoadLocation, which reads and parses the zone file
// on every call: a poll answer with a hundred events would read it a
// hundred times. A *time.Location is immutable, so sharing one is safe.
var loaded sync.Map // zone name -> *time.Location, or nil when it failed

func load(name string) (*time.Location, bool) {
	if v, ok := loaded.Load(name); ok {
		loc, _ := v.(*time.Location)
		return loc, loc != nil
	}
	loc, err := time.LoadLocation(name)
	if err != nil {
		loc = nil
	}
	loaded.Store(name, loc)
	return loc, loc != nil
}

// Place reads a local time given without an offset at loc. wall holds the
// wall-clock fields as a time in UTC. When the place's zone is known, at is
// the instant and local the same instant in that zone; otherwise the wall
// time is read as UTC for both, and unknown is true so the event says so.
func Place(wall time.Time, loc tracking.Location) (at, local time.Time, unknown bool) {
	z, ok := Lookup(loc.Country, loc.Region)
	if !ok {
		w := wall.UTC()
		return w, w, true
	}
	local = time.Date(wall.Year(), wall.Month(), wall.Day(), wall.Hour(), wall.Minute(), wall.Second(), wall.Nanosecond(), z)
	return local.UTC(), local, false
}
