package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"time"
)

// threeInstances starts three children on one database (dsn), each with
// its session cache, spreads the load of /private over them, then signs a
// session out on the first and times how long the other two take to
// refuse it.
func threeInstances(ctx context.Context, o options, dsn string, active int) error {
	sp := spec{Store: dsn, Sessions: o.sessions, Active: active, Seed: randomSeed(), Cache: active}
	var cs []*child
	defer func() {
		for _, c := range cs {
			c.stop()
		}
	}()
	for i := range 3 {
		c, err := startChild(o, sp)
		if err != nil {
			return fmt.Errorf("instance %d: %w", i+1, err)
		}
		cs = append(cs, c)
		sp.Seeded = true // by the first
	}
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: o.conns, MaxConnsPerHost: o.conns}, Timeout: 30 * time.Second}
	defer client.CloseIdleConnections()
	if _, err := drive(ctx, client, cs, "/private", sp, o.conns, o.duration/5); err != nil {
		return err
	}
	if err := warmAll(ctx, client, cs, sp, o.conns); err != nil {
		return err
	}
	load, err := drive(ctx, client, cs, "/private", sp, o.conns, o.duration)
	if err != nil {
		return err
	}

	tok := token(sp.Seed, 0)
	for _, c := range cs {
		if status, err := get(ctx, client, c, tok); err != nil || status != http.StatusOK {
			return fmt.Errorf("before the sign-out: %d, %v", status, err)
		}
	}
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, cs[0].base+"/_api/rest/v1/auth/signout", nil)
	req.Header.Set("Session", tok)
	resp, err := client.Do(req)
	if err != nil {
		return err
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("sign-out: %s", resp.Status)
	}
	signedOut := time.Now()
	var took [2]time.Duration
	for i, c := range cs[1:] {
		for {
			status, err := get(ctx, client, c, tok)
			if err != nil {
				return err
			}
			if status == http.StatusUnauthorized {
				took[i] = time.Since(signedOut).Round(100 * time.Microsecond)
				break
			}
			if time.Since(signedOut) > 5*time.Second {
				return fmt.Errorf("instance %d still accepts the session 5s after its sign-out", i+2)
			}
			time.Sleep(time.Millisecond)
		}
	}
	fmt.Fprintf(o.out, "\nthree instances on one PostgreSQL, each with its cache, the load spread over them: %v CPU/req, p99 %v\n", load.cpuPerReq(), load.p99)
	fmt.Fprintf(o.out, "a sign-out on the first refused by the second after %v and by the third after %v (the bound: 1s)\n", took[0], took[1])
	return nil
}

// get is the status of GET /private on c with the session token tok.
func get(ctx context.Context, client *http.Client, c *child, tok string) (int, error) {
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, c.base+"/private", nil)
	req.Header.Set("Session", tok)
	resp, err := client.Do(req)
	if err != nil {
		return 0, err
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode, nil
}
