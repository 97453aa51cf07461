//go:build race

package main

// raceDetector: the race detector slows hashing and the store's writes
// tenfold, so the import test runs a tenth of its size under it (CI's
// go test -race); without it, the full size.
const raceDetector = true
