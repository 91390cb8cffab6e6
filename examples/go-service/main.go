// Command go-service is a small in-memory key/value cache over HTTP, the
// example service that xbuild builds for linux/amd64 and linux/arm64.
//
//	go-service [-addr :8080] [-max-entries 10000] [-shutdown-grace 10s]
//	go-service -healthcheck    probe /healthz and exit 0 or 1 (HEALTHCHECK in a scratch image)
//
// It uses the standard library only and stops gracefully on SIGTERM or
// SIGINT: it stops accepting connections and lets requests in flight finish.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"
)

// version is set at build time: -ldflags "-X main.version=1.2.3".
var version = "dev"

func main() {
	os.Exit(run(os.Args[1:], os.Stderr))
}

// run parses the flags and either probes a running instance (-healthcheck)
// or serves until a termination signal. It returns the exit code.
func run(args []string, stderr io.Writer) int {
	fs := flag.NewFlagSet("go-service", flag.ContinueOnError)
	fs.SetOutput(stderr)
	addr := fs.String("addr", ":8080", "address to listen on")
	maxEntries := fs.Int("max-entries", 10000, "most keys the cache holds (0: no limit)")
	grace := fs.Duration("shutdown-grace", 10*time.Second, "how long requests in flight may take to finish after SIGTERM")
	healthcheck := fs.Bool("healthcheck", false, "GET /healthz on -addr, exit 0 when healthy, 1 otherwise")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	logger := log.New(stderr, "", log.LstdFlags|log.LUTC)

	if *healthcheck {
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
		defer cancel()
		if err := probe(ctx, *addr); err != nil {
			fmt.Fprintf(stderr, "unhealthy: %v\n", err)
			return 1
		}
		return 0
	}

	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		logger.Print(err)
		return 1
	}
	logger.Printf("go-service %s listening on %s", version, ln.Addr())
	if err := serve(ctx, ln, newHandler(NewCache(*maxEntries)), logger, *grace); err != nil {
		logger.Print(err)
		return 1
	}
	logger.Print("stopped")
	return 0
}

// serve runs an HTTP server on ln until ctx is done, then shuts it down,
// giving requests in flight up to grace to complete.
func serve(ctx context.Context, ln net.Listener, h http.Handler, logger *log.Logger, grace time.Duration) error {
	srv := &http.Server{
		Handler:           h,
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      30 * time.Second,
		IdleTimeout:       2 * time.Minute,
		ErrorLog:          logger,
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()

	select {
	case err := <-errc:
		return err // Serve failed before any signal
	case <-ctx.Done():
	}
	logger.Printf("shutting down (grace %s)", grace)
	sctx, cancel := context.WithTimeout(context.Background(), grace)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		return fmt.Errorf("shutdown: %w", err)
	}
	if err := <-errc; !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// probe asks the instance listening on addr for /healthz. A wildcard or
// empty host (":8080", "0.0.0.0:8080") is probed on loopback.
func probe(ctx context.Context, addr string) error {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return err
	}
	if ip := net.ParseIP(host); host == "" || (ip != nil && ip.IsUnspecified()) {
		host = "127.0.0.1"
	}
	url := "http://" + net.JoinHostPort(host, port) + "/healthz"
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<10))
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("%s: %s", url, resp.Status)
	}
	return nil
}
