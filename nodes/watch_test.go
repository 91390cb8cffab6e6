package nodes

import (
	"context"
	"errors"
	"net"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// A node that stops answering is reported lost after the given number of
// consecutive failed checks, once; a single miss is forgiven.
func TestWatchReportsALostNode(t *testing.T) {
	var calls atomic.Int32
	// answers, misses once, answers, then is gone
	script := []bool{true, false, true, false, false, false}
	c := &Checker{Timeout: time.Second, Dial: func(ctx context.Context, network, addr string) (net.Conn, error) {
		i := int(calls.Add(1)) - 1
		if i < len(script) && script[i] {
			a, b := net.Pipe()
			go b.Close()
			return a, nil
		}
		return nil, &net.OpError{Op: "dial", Net: "tcp", Err: syscall.ECONNREFUSED}
	}}
	n := Node{Name: "arm1", Kind: KindBuildKit, Endpoint: "tcp://10.0.0.2:1234", Insecure: true}
	lost := make(chan Health, 2)
	done := make(chan struct{})
	go func() {
		c.Watch(context.Background(), n, 5*time.Millisecond, 2, func(h Health) { lost <- h })
		close(done)
	}()
	select {
	case h := <-lost:
		if h.Node != "arm1" || h.Status != StatusUnreachable {
			t.Errorf("lost with %+v", h)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the lost node was never reported")
	}
	<-done
	if got := calls.Load(); got != 5 {
		t.Errorf("%d checks; want 5 (the single miss forgiven, then two in a row)", got)
	}
	if len(lost) != 0 {
		t.Error("lost was called twice")
	}
}

func TestWatchStopsWithContext(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	c := &Checker{Timeout: time.Second, Dial: func(context.Context, string, string) (net.Conn, error) {
		cancel()
		return nil, errors.New("cancelled meanwhile")
	}}
	called := false
	c.Watch(ctx, Node{Name: "a", Kind: KindBuildKit, Endpoint: "tcp://a:1", Insecure: true}, time.Millisecond, 1, func(Health) { called = true })
	if called {
		t.Error("a check cut short by the end of the build counted as a lost node")
	}
}
