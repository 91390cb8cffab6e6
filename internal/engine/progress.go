package engine

import (
	"bufio"
	"bytes"
	"encoding/json"
	"io"
	"strings"
	"sync"
	"time"

	bkclient "github.com/moby/buildkit/client"
)

// progressReader splits buildx's stderr in rawjson mode into BuildKit status
// events (sent on Events) and plain text lines (warnings, errors), and keeps
// the time of the last event for the stall watchdog. Status events are
// BuildKit's machine output; nothing here parses human progress text.
type progressReader struct {
	Events chan *bkclient.SolveStatus

	text func(line string)
	now  func() time.Time

	mu         sync.Mutex
	last       time.Time
	lastVertex string
	running    map[string]string // vertex digest -> name, for "stuck at"
	tail       []string
}

const tailLines = 20

func newProgressReader(text func(line string), now func() time.Time) *progressReader {
	return &progressReader{
		Events:  make(chan *bkclient.SolveStatus, 64),
		text:    text,
		now:     now,
		last:    now(),
		running: map[string]string{},
	}
}

// consume reads r until EOF, then closes Events.
func (p *progressReader) consume(r io.Reader) {
	defer close(p.Events)
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64*1024), 32*1024*1024)
	for sc.Scan() {
		line := sc.Bytes()
		if len(line) > 0 && line[0] == '{' {
			var ss bkclient.SolveStatus
			if err := json.Unmarshal(line, &ss); err == nil {
				p.observe(&ss)
				p.Events <- &ss
				continue
			}
		}
		p.textLine(string(line))
	}
	// a scanner error (a line over 32 MiB) drops the rest of the stream;
	// drain it so buildx never blocks writing to a full pipe.
	_, _ = io.Copy(io.Discard, r)
}

func (p *progressReader) observe(ss *bkclient.SolveStatus) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.last = p.now()
	for _, v := range ss.Vertexes {
		switch {
		case v.Completed != nil:
			delete(p.running, v.Digest.String())
		case v.Started != nil:
			p.running[v.Digest.String()] = v.Name
			p.lastVertex = v.Name
		}
	}
}

func (p *progressReader) textLine(s string) {
	if strings.TrimSpace(s) == "" {
		return
	}
	p.mu.Lock()
	p.tail = append(p.tail, s)
	if len(p.tail) > tailLines {
		p.tail = p.tail[len(p.tail)-tailLines:]
	}
	p.mu.Unlock()
	if p.text != nil {
		p.text(s)
	}
}

// idle reports how long no status event has arrived, and what was running.
func (p *progressReader) idle() (time.Duration, []string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	var running []string
	for _, n := range p.running {
		running = append(running, n)
	}
	if len(running) == 0 && p.lastVertex != "" {
		running = []string{p.lastVertex}
	}
	return p.now().Sub(p.last), running
}

// touch restarts the idle clock: the build was found alive.
func (p *progressReader) touch() {
	p.mu.Lock()
	p.last = p.now()
	p.mu.Unlock()
}

// Tail returns the last plain-text lines buildx printed (its error lines).
func (p *progressReader) Tail() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	var b bytes.Buffer
	for _, l := range p.tail {
		b.WriteString(l)
		b.WriteByte('\n')
	}
	return b.String()
}
