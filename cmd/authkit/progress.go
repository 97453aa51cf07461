package main

import (
	"fmt"
	"io"
	"os"
	"sync"
	"time"

	"github.com/mattn/go-isatty"
)

// progress shows a line of progress on stderr, rewritten in place, when
// stderr is a terminal; piped or redirected, it writes nothing.
type progress struct {
	w    io.Writer // nil: quiet
	mu   sync.Mutex
	last time.Time
	wide bool // a line is on screen
}

// progress returns the run's progress line.
func (a *app) progress() *progress {
	if f, ok := a.stderr.(*os.File); ok && (isatty.IsTerminal(f.Fd()) || isatty.IsCygwinTerminal(f.Fd())) {
		return &progress{w: f}
	}
	return &progress{}
}

// show writes the line, at most five times a second.
func (p *progress) show(format string, args ...any) {
	if p.w == nil {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if time.Since(p.last) < 200*time.Millisecond {
		return
	}
	p.last = time.Now()
	fmt.Fprintf(p.w, "\r\033[K"+format, args...)
	p.wide = true
}

// done clears the line.
func (p *progress) done() {
	if p.w == nil {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.wide {
		fmt.Fprint(p.w, "\r\033[K")
		p.wide = false
	}
}

// ticker shows line() every second until stop is called, for work that
// reports no progress of its own.
func (p *progress) ticker(line func() string) (stop func()) {
	if p.w == nil {
		return func() {}
	}
	quit := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		t := time.NewTicker(time.Second)
		defer t.Stop()
		for {
			select {
			case <-quit:
				return
			case <-t.C:
				p.show("%s", line())
			}
		}
	}()
	return func() {
		close(quit)
		<-done
		p.done()
	}
}
