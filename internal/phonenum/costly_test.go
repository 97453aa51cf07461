package phonenum

import (
	"fmt"
	"slices"
	"testing"

	"github.com/nyaruka/phonenumbers"
	"github.com/stretchr/testify/require"
)

// Every number here gets through Normalize; Costly tells which of them
// cost money to text.
func TestCostly(t *testing.T) {
	for _, tc := range []struct {
		typed string
		want  Kind // "" for ordinary
	}{
		// The examples.
		{"+1 900 234 5678", PremiumRate},
		{"+44 909 876 5432", PremiumRate},
		{"+979 123 456 789", PremiumRate},
		{"+371 90 123 456", PremiumRate},
		{"+881 6 1234 5678", Satellite},
		{"+870 301 234 567", Satellite},
		{"+882 342 1234", Satellite},

		// Premium rate elsewhere.
		{"+49 900 1234567", PremiumRate},
		{"+33 891 12 34 56", PremiumRate},
		{"+44 845 123 4567", PremiumRate}, // libphonenumber types 084x and 087x as premium
		{"+55 500 123 456", PremiumRate},
		{"+91 1861 123 456 789", PremiumRate},

		// Shared cost.
		{"+808 1234 5678", SharedCost},
		{"+49 180 12345", SharedCost},
		{"+33 884 01 23 45", SharedCost},
		{"+371 81 123 456", SharedCost},
		{"+55 4004 1234", SharedCost},
		{"+91 1860 345 1234", SharedCost},

		// Universal access numbers.
		{"+888 1234 5678 901", UAN},
		{"+44 55 1234 5678", UAN},
		{"+44 300 123 4567", UAN},
		{"+49 185 00123456", UAN},
		{"+91 140 930 5260", UAN},
		{"+234 700 123 4567", UAN},
		{"+33 806 12 34 56", UAN},

		// Voicemail access.
		{"+49 177 99 1234567", Voicemail},
		{"+39 331 012 34501", Voicemail},
		{"+47 81 21 23 45", Voicemail},

		// Global networks.
		{"+870 7 1234 5678 901", Satellite}, // Inmarsat, 12 digits
		{"+878 10 1234 567890", Satellite},  // UPT
		{"+881 2 1234 5678", Satellite},
		{"+882 16 1234 5678", Satellite}, // Thuraya
		{"+883 510 012 345", Satellite},
		{"+800 1234 5678", ""}, // UIFN toll-free

		// Short codes: the country's short-number metadata knows them,
		// or they are of a length only dialled locally.
		{"+44 118 118", ShortCode},   // directory enquiries, premium
		{"+44 118 500", ShortCode},   // directory enquiries
		{"+44 61998", ShortCode},     // an SMS short code
		{"+44 80010", ShortCode},     // an SMS short code
		{"+44 7 1234", ShortCode},    // five digits: local only
		{"+44 1234 5678", ShortCode}, // eight digits: local only
		{"+1 555 1234", ShortCode},   // seven digits: local only
		{"+1 212 5551", ShortCode},
		{"+49 110", ShortCode}, // the police
		{"+49 112", ShortCode},
		{"+49 11833", ShortCode}, // directory enquiries
		{"+43 112", ShortCode},
		{"+27 41348", ShortCode},
		{"+49 3310", ShortCode},  // carrier-specific
		{"+49 22225", ShortCode}, // not listed, but shaped as a German short number
		{"+98 1500", ShortCode},
		{"+598 1780", ShortCode},

		// Ordinary numbers of several countries.
		{"+1 555 555 5555", ""}, // the seeds': possible, no type
		{"+1 201 555 0123", ""}, // fixed line or mobile
		{"+1 800 234 5678", ""}, // toll-free
		{"+1 500 234 5678", ""}, // personal
		{"+44 7400 123456", ""}, // mobile
		{"+44 20 7946 0958", ""},
		{"+44 121 234 5678", ""},
		{"+44 800 123 4567", ""},
		{"+44 56 1234 5678", ""}, // VoIP
		{"+44 70 1234 5678", ""}, // personal
		{"+44 7640 123456", ""},  // pager
		{"+44 123 4567", ""},     // seven digits: possible, no type
		{"+49 1512 3456789", ""},
		{"+49 30 123456", ""},
		{"+49 30 1234", ""}, // valid, though as short as a short code
		{"+91 81234 56789", ""},
		{"+91 74104 10123", ""},
		{"+91 1800 123 456", ""},
		{"+55 11 96123 4567", ""},
		{"+55 11 2345 6789", ""},
		{"+234 802 123 4567", ""},
		{"+234 20 3312 3456", ""},
		{"+33 6 12 34 56 78", ""},
		{"+371 21 234 567", ""},
		{"+371 63 123 456", ""},
		{"+1 900 123 4567", ""}, // no 900 number: exchanges do not start with 1
	} {
		t.Run(tc.typed, func(t *testing.T) {
			e164, ok := Normalize(tc.typed)
			require.True(t, ok, "Normalize takes it")
			kind, costly := Costly(e164)
			require.Equal(t, tc.want, kind)
			require.Equal(t, tc.want != "", costly)
		})
	}
}

// Short codes that Normalize refuses already: a US short code is five or
// six digits, and +1 wants seven (local) or ten; three-digit British ones
// are too short for +44.
func TestShortCodesNormalizeRefuses(t *testing.T) {
	for _, typed := range []string{"+1 32665", "+1 40404", "+1 898287", "+1 911", "+1 611", "+44 999", "+44 112", "+44 150"} {
		_, ok := Normalize(typed)
		require.False(t, ok, typed)
	}
}

// libphonenumber's own example of each type, in every region and global
// network, is of the kind that type makes it.
func TestCostlyExamples(t *testing.T) {
	kinds := map[phonenumbers.PhoneNumberType]Kind{
		phonenumbers.FIXED_LINE: "", phonenumbers.MOBILE: "", phonenumbers.TOLL_FREE: "",
		phonenumbers.VOIP: "", phonenumbers.PERSONAL_NUMBER: "", phonenumbers.PAGER: "",
		phonenumbers.PREMIUM_RATE: PremiumRate, phonenumbers.SHARED_COST: SharedCost,
		phonenumbers.UAN: UAN, phonenumbers.VOICEMAIL: Voicemail,
	}
	seen := map[Kind]int{}
	for region := range phonenumbers.GetSupportedRegions() {
		for typ, want := range kinds {
			n := phonenumbers.GetExampleNumberForType(region, typ)
			if n == nil {
				continue
			}
			e164, ok := Normalize(phonenumbers.Format(n, phonenumbers.E164))
			require.True(t, ok, "%s %v", region, typ)
			kind, _ := Costly(e164)
			require.Equal(t, want, kind, "%s %v %s", region, typ, e164)
			seen[kind]++
		}
	}
	for code := range phonenumbers.GetSupportedGlobalNetworkCallingCodes() {
		n := phonenumbers.GetExampleNumberForNonGeoEntity(code)
		e164, ok := Normalize(phonenumbers.Format(n, phonenumbers.E164))
		require.True(t, ok, code)
		kind, _ := Costly(e164)
		want, typed := map[int]Kind{800: "", 808: SharedCost, 888: UAN, 979: PremiumRate}[code]
		if !typed {
			want = Satellite
		}
		require.Equal(t, want, kind, "+%d", code)
	}
	for _, k := range []Kind{"", PremiumRate, SharedCost, UAN, Voicemail} {
		require.NotZero(t, seen[k], "no example of %q", k)
	}
}

// Every example in libphonenumber's short-number metadata that
// Normalize takes is a ShortCode.
func TestCostlyShortExamples(t *testing.T) {
	coll, err := phonenumbers.ShortNumberMetadataCollection()
	require.NoError(t, err)
	taken := 0
	for _, md := range coll.GetMetadata() {
		code := phonenumbers.GetCountryCodeForRegion(md.GetId())
		for _, d := range []*phonenumbers.PhoneNumberDesc{
			md.GetShortCode(), md.GetEmergency(), md.GetTollFree(), md.GetStandardRate(),
			md.GetPremiumRate(), md.GetCarrierSpecific(), md.GetSmsServices(),
		} {
			if code == 0 || d.GetExampleNumber() == "" {
				continue
			}
			e164, ok := Normalize(fmt.Sprintf("+%d%s", code, d.GetExampleNumber()))
			if !ok {
				continue
			}
			taken++
			kind, _ := Costly(e164)
			require.Equal(t, ShortCode, kind, "%s %s", md.GetId(), e164)
		}
	}
	require.NotZero(t, taken)
}

func TestAllKinds(t *testing.T) {
	kinds := AllKinds()
	require.Equal(t, []Kind{PremiumRate, SharedCost, UAN, Voicemail, Satellite, ShortCode}, kinds)
	kinds[0] = "changed"
	require.Equal(t, PremiumRate, AllKinds()[0], "each call returns a fresh slice")
	require.False(t, slices.Contains(AllKinds(), ""))
}

// A panic inside the parser is an ordinary number, never a crashed
// request: Normalize has read it already.
func TestCostlyParserPanic(t *testing.T) {
	kind, ok := costly("+19002345678", func(string, string) (*phonenumbers.PhoneNumber, error) { panic("index out of range") })
	require.False(t, ok)
	require.Equal(t, Kind(""), kind)
	kind, ok = Costly("not a number")
	require.False(t, ok)
	require.Equal(t, Kind(""), kind)
}
