package main

import (
	"errors"
	"sync"
)

// ErrFull is returned by Put when the cache holds its maximum number of
// entries and the key is a new one. Replacing an existing key always works.
var ErrFull = errors.New("cache is full")

// entry is one stored value and the media type it was stored with.
type entry struct {
	value       []byte
	contentType string
}

// Cache is an in-memory key/value store, safe for concurrent use, bounded
// by a maximum number of entries. It copies values in and out, so callers
// may reuse their buffers.
type Cache struct {
	mu         sync.RWMutex
	items      map[string]entry
	maxEntries int
}

// NewCache returns an empty cache that holds at most maxEntries keys
// (maxEntries <= 0 means no limit).
func NewCache(maxEntries int) *Cache {
	return &Cache{items: map[string]entry{}, maxEntries: maxEntries}
}

// Get returns a copy of the value stored under key and its content type.
func (c *Cache) Get(key string) (value []byte, contentType string, ok bool) {
	c.mu.RLock()
	e, ok := c.items[key]
	c.mu.RUnlock()
	if !ok {
		return nil, "", false
	}
	return clone(e.value), e.contentType, true
}

// Put stores a copy of value under key. It reports whether the key is new,
// and fails with ErrFull when a new key would exceed the entry limit.
func (c *Cache) Put(key string, value []byte, contentType string) (created bool, err error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	_, exists := c.items[key]
	if !exists && c.maxEntries > 0 && len(c.items) >= c.maxEntries {
		return false, ErrFull
	}
	c.items[key] = entry{value: clone(value), contentType: contentType}
	return !exists, nil
}

// Delete removes key and reports whether it was present.
func (c *Cache) Delete(key string) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	_, ok := c.items[key]
	delete(c.items, key)
	return ok
}

// Len is the number of stored keys.
func (c *Cache) Len() int {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return len(c.items)
}

// clone copies b; a nil or empty b becomes an empty, non-nil slice so that
// an empty stored value is distinguishable from a missing one.
func clone(b []byte) []byte {
	return append(make([]byte, 0, len(b)), b...)
}
