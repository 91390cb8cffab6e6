// Command faultproxy is the build farm's registry fault proxy (hack/farm/up.sh
// starts it). It terminates TLS with the farm's server certificate, forwards
// every request to the push registry, and answers the requests a test armed
// a fault for itself: an HTTP status (503 first of all), a connection reset,
// or a connection closed without an answer. Tests arm faults and read the
// counters through a plain-HTTP admin API on loopback (see NewAdmin).
//
//	faultproxy -listen 127.0.0.1:15002 -cert server.pem -key server-key.pem \
//	  -upstream https://127.0.0.1:15001 -upstream-ca ca.pem -admin 127.0.0.1:15003
package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"flag"
	"fmt"
	"log"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/signal"
	"syscall"
	"time"
)

// options are the command-line flags.
type options struct {
	listen, admin        string
	cert, key            string
	upstream, upstreamCA string
	logLimit             int
}

func main() {
	var o options
	flag.StringVar(&o.listen, "listen", "127.0.0.1:15002", "TLS address registry clients connect to")
	flag.StringVar(&o.admin, "admin", "127.0.0.1:15003", "plain-HTTP address of the admin API (keep it on loopback)")
	flag.StringVar(&o.cert, "cert", "", "server certificate (PEM) for -listen")
	flag.StringVar(&o.key, "key", "", "its private key (PEM)")
	flag.StringVar(&o.upstream, "upstream", "https://127.0.0.1:15001", "the registry requests are forwarded to")
	flag.StringVar(&o.upstreamCA, "upstream-ca", "", "CA (PEM) the upstream registry's certificate is checked against")
	flag.IntVar(&o.logLimit, "log-limit", 2000, "requests kept in the admin API's request log")
	flag.Parse()
	log.SetFlags(log.LstdFlags | log.Lmicroseconds)
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, o); err != nil {
		log.Printf("faultproxy: %v", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, o options) error {
	if o.cert == "" || o.key == "" || o.upstreamCA == "" {
		return errors.New("-cert, -key and -upstream-ca are required")
	}
	up, err := url.Parse(o.upstream)
	if err != nil || up.Scheme != "https" || up.Host == "" {
		return fmt.Errorf("-upstream %q: want https://host:port", o.upstream)
	}
	cert, err := tls.LoadX509KeyPair(o.cert, o.key)
	if err != nil {
		return fmt.Errorf("-cert %s / -key %s: %w", o.cert, o.key, err)
	}
	caPEM, err := os.ReadFile(o.upstreamCA)
	if err != nil {
		return fmt.Errorf("-upstream-ca: %w", err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(caPEM) {
		return fmt.Errorf("-upstream-ca %s: no PEM certificate in it", o.upstreamCA)
	}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.TLSClientConfig = &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
	tr.MaxIdleConnsPerHost = 32
	tr.Proxy = nil // the registry is local; never route it through a proxy from the environment

	table := NewTable(time.Now, o.logLimit)
	proxy := &http.Server{
		Handler:           NewProxy(table, up, tr, log.Printf),
		TLSConfig:         &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12},
		ReadHeaderTimeout: 30 * time.Second,
		// HTTP/1.1 only: a reset or close fault takes the connection over,
		// which HTTP/2 cannot do
		TLSNextProto: map[string]func(*http.Server, *tls.Conn, http.Handler){},
		ErrorLog:     log.Default(),
	}
	admin := &http.Server{Handler: NewAdmin(table), ReadHeaderTimeout: 10 * time.Second}

	pl, err := net.Listen("tcp", o.listen)
	if err != nil {
		return fmt.Errorf("-listen: %w", err)
	}
	al, err := net.Listen("tcp", o.admin)
	if err != nil {
		pl.Close()
		return fmt.Errorf("-admin: %w", err)
	}
	log.Printf("faultproxy: https://%s -> %s, admin http://%s", pl.Addr(), up, al.Addr())
	errc := make(chan error, 2)
	go func() { errc <- proxy.ServeTLS(pl, "", "") }()
	go func() { errc <- admin.Serve(al) }()
	select {
	case err = <-errc:
	case <-ctx.Done():
		log.Printf("faultproxy: stopping")
	}
	sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_ = proxy.Shutdown(sctx)
	_ = admin.Shutdown(sctx)
	if errors.Is(err, http.ErrServerClosed) {
		err = nil
	}
	return err
}
