// Package breached says whether a password is one of the 100,000 commonest
// passwords of past breaches: the blocklist NIST SP 800-63B asks a
// verifier to check new passwords against (§5.1.1.2 of revision 3,
// §3.1.1.2 of revision 4).
//
// The list is SecLists' 10-million-password-list-top-100000.txt (Mark
// Burnett's ten million passwords, most common first; see NOTICE for the
// source, the licence and the SHA-256), embedded gzip-compressed: 376 KB
// in the binary for 782 KB of text.
//
// # Comparison
//
// A password is common when it equals an entry of the list, whole: no
// substring, prefix or trimmed form is looked for. Case is folded on both
// sides (Unicode simple lower case, what strings.ToLower does), so
// "PASSWORD123" and "Qwerty123" are as common as "password123" and
// "qwerty123": the list itself holds "password", "Password" and
// "PASSWORD" as three entries, and a cracker's first rules try the other
// cases of every listed word. The cost is that a case variant no
// breach happens to show is refused too; a user then picks another
// password. The comparison is done on 64-bit hashes under a seed chosen
// at random once per process: a password off the list is refused by a
// collision with a chance of about 100,000 in 2^64, and, the seed being
// secret, nobody can craft one.
//
// # Memory
//
// Nothing is decoded until the first call of [Common]; a process that never
// judges a new password never pays for the list. The first call
// decompresses the list into a sorted slice of the hashes, about 800 KB
// that hold no pointers, so the garbage collector never scans them; a
// lookup is a binary search that allocates nothing.
//
// To rebuild top100000.txt.gz from the text, see mklist.go:
//
//	SECLISTS_TOP100000=path/to/10-million-password-list-top-100000.txt go generate ./internal/breached
package breached

//go:generate go run mklist.go $SECLISTS_TOP100000

import (
	"bufio"
	"compress/gzip"
	_ "embed"
	"hash/maphash"
	"slices"
	"strings"
	"sync"
	"unicode"
	"unicode/utf8"
)

// listLen is the number of lines of the embedded list.
const listLen = 100_000

//go:embed top100000.txt.gz
var listGz string

// set holds the list's hashes, made on first use.
var set = sync.OnceValue(load)

// hashes is the list as a set: the hash of each folded entry under seed,
// sorted, each once.
type hashes struct {
	seed maphash.Seed
	sums []uint64
}

// Common reports whether pw, with its case folded, is an entry of the
// list. The first call decodes the list (tens of milliseconds); the
// others allocate nothing. Common is safe for concurrent use.
func Common(pw string) bool {
	s := set()
	_, found := slices.BinarySearch(s.sums, sum(s.seed, pw))
	return found
}

// load decodes the embedded list. It panics if the list does not decode,
// which the package's tests rule out for the list that is embedded: a
// password check must not quietly pass everything.
func load() hashes {
	zr, err := gzip.NewReader(strings.NewReader(listGz))
	if err != nil {
		panic("breached: the embedded list is not gzip: " + err.Error())
	}
	s := hashes{seed: maphash.MakeSeed(), sums: make([]uint64, 0, listLen)}
	lines := bufio.NewScanner(zr)
	for lines.Scan() {
		// Converting a line this short allocates nothing, as sum keeps
		// nothing of it.
		s.sums = append(s.sums, sum(s.seed, string(lines.Bytes())))
	}
	if err := lines.Err(); err != nil {
		panic("breached: the embedded list does not decode: " + err.Error())
	}
	slices.Sort(s.sums)
	s.sums = slices.Compact(s.sums)
	return s
}

// sum hashes pw with its case folded as strings.ToLower folds it, without
// allocating for a password of up to 256 bytes.
func sum(seed maphash.Seed, pw string) uint64 {
	var buf [256]byte
	folded := buf[:0]
	for _, r := range pw {
		folded = utf8.AppendRune(folded, unicode.ToLower(r))
	}
	return maphash.Bytes(seed, folded)
}
