package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
)

// maxFaultBody bounds a POST /faults body.
const maxFaultBody = 64 << 10

// NewAdmin returns the admin API over table (plain HTTP, for loopback only):
//
//	POST   /faults    arm a fault (JSON Fault: methods, path, action, status, count, skip, retryAfter) -> 201 + the fault
//	GET    /faults    the armed faults with their state
//	DELETE /faults    disarm every fault (counters and log stay)
//	GET    /counters  {"injected": N, "passed": M} since the last reset
//	GET    /requests  the request log (the last requests since the last reset), oldest first
//	POST   /reset     disarm every fault, zero the counters, clear the log
func NewAdmin(table *Table) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /faults", func(w http.ResponseWriter, r *http.Request) {
		var f Fault
		dec := json.NewDecoder(io.LimitReader(r.Body, maxFaultBody))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&f); err != nil {
			writeError(w, http.StatusBadRequest, fmt.Errorf("reading the fault: %w", err))
			return
		}
		armed, err := table.Arm(f)
		if err != nil {
			writeError(w, http.StatusBadRequest, err)
			return
		}
		writeJSON(w, http.StatusCreated, armed)
	})
	mux.HandleFunc("GET /faults", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, table.Faults())
	})
	mux.HandleFunc("DELETE /faults", func(w http.ResponseWriter, r *http.Request) {
		table.Clear()
		w.WriteHeader(http.StatusNoContent)
	})
	mux.HandleFunc("GET /counters", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, table.Counters())
	})
	mux.HandleFunc("GET /requests", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, table.Log())
	})
	mux.HandleFunc("POST /reset", func(w http.ResponseWriter, r *http.Request) {
		table.Reset()
		w.WriteHeader(http.StatusNoContent)
	})
	return mux
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	_ = enc.Encode(v)
}

func writeError(w http.ResponseWriter, status int, err error) {
	writeJSON(w, status, map[string]string{"error": err.Error()})
}
