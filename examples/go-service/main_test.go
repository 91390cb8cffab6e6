package main

import (
	"bytes"
	"context"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

func TestServeDrainsRequestsOnShutdown(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	started := make(chan struct{})
	release := make(chan struct{})
	h := http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		close(started)
		<-release
		io.WriteString(w, "finished")
	})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- serve(ctx, ln, h, log.New(io.Discard, "", 0), 5*time.Second) }()

	type result struct {
		body string
		err  error
	}
	res := make(chan result, 1)
	go func() {
		resp, err := http.Get("http://" + ln.Addr().String() + "/slow")
		if err != nil {
			res <- result{err: err}
			return
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		res <- result{string(b), err}
	}()

	<-started
	cancel() // what SIGTERM does in run
	select {
	case err := <-done:
		t.Fatalf("serve returned (%v) while a request was in flight", err)
	case <-time.After(100 * time.Millisecond):
	}
	if _, err := net.DialTimeout("tcp", ln.Addr().String(), time.Second); err == nil {
		t.Fatal("the listener still accepts connections after shutdown began")
	}
	close(release)
	if r := <-res; r.err != nil || r.body != "finished" {
		t.Fatalf("in-flight request = %q, %v; want \"finished\", nil", r.body, r.err)
	}
	if err := <-done; err != nil {
		t.Fatalf("serve = %v, want nil after a graceful shutdown", err)
	}
}

func TestServeShutdownGraceExpires(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	started := make(chan struct{})
	release := make(chan struct{})
	defer close(release)
	h := http.HandlerFunc(func(http.ResponseWriter, *http.Request) {
		close(started)
		<-release
	})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- serve(ctx, ln, h, log.New(io.Discard, "", 0), 50*time.Millisecond) }()
	go http.Get("http://" + ln.Addr().String() + "/stuck")
	<-started
	cancel()
	if err := <-done; err == nil || !strings.HasPrefix(err.Error(), "shutdown: ") {
		t.Fatalf("serve = %v, want a shutdown error once the grace period is over", err)
	}
}

func TestProbe(t *testing.T) {
	healthy := httptest.NewServer(newHandler(NewCache(0)))
	defer healthy.Close()
	sick := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		http.Error(w, "down", http.StatusServiceUnavailable)
	}))
	defer sick.Close()
	_, healthyPort, _ := net.SplitHostPort(healthy.Listener.Addr().String())

	ctx := context.Background()
	for _, addr := range []string{healthy.Listener.Addr().String(), ":" + healthyPort, "0.0.0.0:" + healthyPort} {
		if err := probe(ctx, addr); err != nil {
			t.Errorf("probe(%s) = %v, want nil", addr, err)
		}
	}
	if err := probe(ctx, sick.Listener.Addr().String()); err == nil || !strings.Contains(err.Error(), "503") {
		t.Errorf("probe of a 503 server = %v, want an error naming 503", err)
	}
	if err := probe(ctx, "no-port"); err == nil {
		t.Error("probe(no-port) = nil, want an address error")
	}
}

func TestRunHealthcheckFlag(t *testing.T) {
	srv := httptest.NewServer(newHandler(NewCache(0)))
	defer srv.Close()
	var stderr bytes.Buffer
	if code := run([]string{"-healthcheck", "-addr", srv.Listener.Addr().String()}, &stderr); code != 0 {
		t.Fatalf("run -healthcheck on a healthy server = %d (%s), want 0", code, stderr.String())
	}
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	closed := ln.Addr().String()
	ln.Close()
	stderr.Reset()
	if code := run([]string{"-healthcheck", "-addr", closed}, &stderr); code != 1 || !strings.HasPrefix(stderr.String(), "unhealthy: ") {
		t.Fatalf("run -healthcheck with nothing listening = %d %q, want 1 and \"unhealthy: ...\"", code, stderr.String())
	}
	if code := run([]string{"-no-such-flag"}, io.Discard); code != 2 {
		t.Fatalf("run with an unknown flag = %d, want 2", code)
	}
}
