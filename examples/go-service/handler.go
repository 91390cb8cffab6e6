package main

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
)

const (
	// maxValueBytes bounds one stored value; larger PUTs get 413.
	maxValueBytes = 1 << 20
	// maxKeyBytes bounds a key; longer ones get 400.
	maxKeyBytes = 250
	// defaultContentType is used when a PUT does not say what it stores.
	defaultContentType = "application/octet-stream"
)

// newHandler routes the cache API:
//
//	PUT    /v1/cache/{key}  store the request body (201 created, 204 replaced)
//	GET    /v1/cache/{key}  read it back (200, or 404); HEAD works too
//	DELETE /v1/cache/{key}  remove it (204, or 404)
//	GET    /healthz         liveness: 200 "ok"
//
// Other methods on these paths get 405 with an Allow header (ServeMux does that).
func newHandler(c *Cache) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		io.WriteString(w, "ok\n")
	})
	mux.HandleFunc("GET /v1/cache/{key}", func(w http.ResponseWriter, r *http.Request) {
		key, ok := cacheKey(w, r)
		if !ok {
			return
		}
		value, ctype, found := c.Get(key)
		if !found {
			http.Error(w, "not found", http.StatusNotFound)
			return
		}
		h := w.Header()
		h.Set("Content-Type", ctype)
		h.Set("Content-Length", strconv.Itoa(len(value)))
		h.Set("X-Content-Type-Options", "nosniff")
		if r.Method != http.MethodHead {
			w.Write(value)
		}
	})
	mux.HandleFunc("PUT /v1/cache/{key}", func(w http.ResponseWriter, r *http.Request) {
		key, ok := cacheKey(w, r)
		if !ok {
			return
		}
		body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxValueBytes))
		if err != nil {
			var tooBig *http.MaxBytesError
			if errors.As(err, &tooBig) {
				http.Error(w, fmt.Sprintf("value larger than %d bytes", maxValueBytes), http.StatusRequestEntityTooLarge)
				return
			}
			http.Error(w, "reading the body: "+err.Error(), http.StatusBadRequest)
			return
		}
		ctype := r.Header.Get("Content-Type")
		if ctype == "" {
			ctype = defaultContentType
		}
		created, err := c.Put(key, body, ctype)
		switch {
		case errors.Is(err, ErrFull):
			http.Error(w, err.Error(), http.StatusInsufficientStorage)
		case err != nil:
			http.Error(w, err.Error(), http.StatusInternalServerError)
		case created:
			w.WriteHeader(http.StatusCreated)
		default:
			w.WriteHeader(http.StatusNoContent)
		}
	})
	mux.HandleFunc("DELETE /v1/cache/{key}", func(w http.ResponseWriter, r *http.Request) {
		key, ok := cacheKey(w, r)
		if !ok {
			return
		}
		if !c.Delete(key) {
			http.Error(w, "not found", http.StatusNotFound)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	})
	return mux
}

// cacheKey returns the {key} path segment, or writes 400 when it is too long.
func cacheKey(w http.ResponseWriter, r *http.Request) (string, bool) {
	key := r.PathValue("key")
	if len(key) > maxKeyBytes {
		http.Error(w, fmt.Sprintf("key longer than %d bytes", maxKeyBytes), http.StatusBadRequest)
		return "", false
	}
	return key, true
}
