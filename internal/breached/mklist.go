//go:build ignore

// mklist writes top100000.txt.gz, the embedded list, from SecLists'
// Passwords/Common-Credentials/10-million-password-list-top-100000.txt:
//
//	go run mklist.go path/to/10-million-password-list-top-100000.txt
//
// or, with the path in SECLISTS_TOP100000, go generate. The bytes are kept
// as they are (order, case, line ends) and compressed at gzip's best level
// with no name or time in the header, so the same input gives the same
// file. It prints the line count and the SHA-256 of the input, which must
// be those in NOTICE; the package's tests check them again.
package main

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"fmt"
	"log"
	"os"
)

func main() {
	log.SetFlags(0)
	if len(os.Args) != 2 || os.Args[1] == "" {
		log.Fatal("usage: go run mklist.go path/to/10-million-password-list-top-100000.txt")
	}
	raw, err := os.ReadFile(os.Args[1])
	if err != nil {
		log.Fatal(err)
	}
	var out bytes.Buffer
	zw, err := gzip.NewWriterLevel(&out, gzip.BestCompression)
	if err != nil {
		log.Fatal(err)
	}
	if _, err := zw.Write(raw); err != nil {
		log.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		log.Fatal(err)
	}
	if err := os.WriteFile("top100000.txt.gz", out.Bytes(), 0o644); err != nil {
		log.Fatal(err)
	}
	fmt.Printf("top100000.txt.gz: %d lines, %d bytes, %d compressed, sha256 %x\n",
		bytes.Count(raw, []byte("\n")), len(raw), out.Len(), sha256.Sum256(raw))
}
