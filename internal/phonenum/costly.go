package phonenum

// Costly numbers: the kinds that cost their sender money to text, or
// earn someone a share of it, which is how SMS pumping pays.

import (
	"slices"
	"sync"

	"github.com/nyaruka/phonenumbers"
)

// Kind is a class of costly numbers. The kit refuses them unless its
// Config allows the kind.
type Kind string

// The costly kinds, as libphonenumber's metadata types numbers. Mobile,
// fixed-line, VoIP, personal, pager and toll-free numbers, and numbers of
// a type it does not know (such as the seeds' +15555555555), are
// ordinary: no kind.
const (
	// PremiumRate numbers charge the caller a premium that the number's
	// owner shares: +1 900 234 5678, +44 909 876 5432, +371 90 123 456,
	// and +979, the international premium rate service.
	PremiumRate Kind = "premium-rate"
	// SharedCost numbers split the cost between caller and owner:
	// +49 180 …, +33 884 …, and +808, the international shared cost
	// service.
	SharedCost Kind = "shared-cost"
	// UAN numbers are universal access ("company") numbers that route on
	// to an office: +44 55 …, +49 185 …, +91 140 …, and +888.
	UAN Kind = "uan"
	// Voicemail numbers reach a mailbox: +49 177 99 …, +39 33101 ….
	Voicemail Kind = "voicemail"
	// Satellite numbers belong to a global network rather than a
	// country (libphonenumber's region "001"): Inmarsat's +870, the
	// satellite phones of +881 (Iridium, Globalstar), UPT's +878 and the
	// international networks of +882 (Thuraya among them) and +883. The
	// other "001" codes are typed as what they are: +800 is toll-free
	// (ordinary), +808 shared cost, +888 UAN and +979 premium rate.
	Satellite Kind = "satellite"
	// ShortCode numbers are a country's short numbers (SMS short codes,
	// directory enquiries, emergency numbers: +44 118 118, +44 61998,
	// +49 110) and numbers of a length only dialled locally
	// (+1 555 1234), none of them a whole international number.
	ShortCode Kind = "short-code"
)

// AllKinds returns the costly kinds, in the order they are documented.
func AllKinds() []Kind {
	return []Kind{PremiumRate, SharedCost, UAN, Voicemail, Satellite, ShortCode}
}

// Costly returns the costly kind of e164, a number as [Normalize] returns
// it, or "", false for an ordinary number (and for one that does not
// parse: Normalize would have refused it).
//
// A valid number that libphonenumber types as premium rate, shared cost,
// UAN or voicemail is of that kind; else a number of a global network is
// a [Satellite] one, unless toll-free; else a number that is not valid
// for its country but has the shape of one of its short numbers, or a
// length only dialled locally, is a [ShortCode].
func Costly(e164 string) (Kind, bool) {
	return costly(e164, phonenumbers.Parse)
}

// costly is Costly with the parser given: a test gives one that panics.
func costly(e164 string, parse func(string, string) (*phonenumbers.PhoneNumber, error)) (kind Kind, ok bool) {
	defer func() {
		// As in normalize: whatever the parser trips on is not a reason
		// to crash the request. Normalize has read the number already,
		// so it counts as ordinary.
		if recover() != nil {
			kind, ok = "", false
		}
	}()
	n, err := parse(e164, "ZZ")
	if err != nil {
		return "", false
	}
	typ := phonenumbers.GetNumberType(n) // UNKNOWN unless the number is valid
	switch typ {
	case phonenumbers.PREMIUM_RATE:
		return PremiumRate, true
	case phonenumbers.SHARED_COST:
		return SharedCost, true
	case phonenumbers.UAN:
		return UAN, true
	case phonenumbers.VOICEMAIL:
		return Voicemail, true
	}
	if phonenumbers.GetRegionCodeForCountryCode(int(n.GetCountryCode())) == phonenumbers.REGION_CODE_FOR_NON_GEO_ENTITY {
		if typ == phonenumbers.TOLL_FREE {
			return "", false
		}
		return Satellite, true
	}
	if typ == phonenumbers.UNKNOWN &&
		(phonenumbers.IsPossibleNumberWithReason(n) == phonenumbers.IS_POSSIBLE_LOCAL_ONLY || shortNumber(n)) {
		return ShortCode, true
	}
	return "", false
}

// shortNumber reports whether n has the shape of a short number of a
// region of its country code: of a length and pattern its short-number
// metadata allows. That metadata's general description spans every kind
// of short number it lists, carrier-specific ones included, which
// phonenumbers.IsValidShortNumber does not look at.
func shortNumber(n *phonenumbers.PhoneNumber) bool {
	nsn := phonenumbers.GetNationalSignificantNumber(n)
	for _, region := range phonenumbers.GetRegionCodesForCountryCode(int(n.GetCountryCode())) {
		d := shortPlans()[region]
		if d != nil && slices.Contains(d.GetPossibleLength(), int32(len(nsn))) && phonenumbers.MatchNationalNumber(nsn, d, false) {
			return true
		}
	}
	return false
}

// shortPlans is the general description of each region's short numbers,
// read once from the metadata phonenumbers embeds.
var shortPlans = sync.OnceValue(func() map[string]*phonenumbers.PhoneNumberDesc {
	plans := map[string]*phonenumbers.PhoneNumberDesc{}
	coll, err := phonenumbers.ShortNumberMetadataCollection()
	if err != nil {
		return plans // unreachable: phonenumbers panics at init on bad metadata
	}
	for _, md := range coll.GetMetadata() {
		plans[md.GetId()] = md.GetGeneralDesc()
	}
	return plans
})
