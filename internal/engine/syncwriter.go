package engine

import (
	"io"
	"sync"
)

// syncWriter serialises the writes of several goroutines to one writer:
// buildx's own streams and the copier of the redirected os.Stderr write the
// same Invocation.Stderr, and the progress display and the text lines of a
// build write the same output.
type syncWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (s *syncWriter) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.w.Write(p)
}
