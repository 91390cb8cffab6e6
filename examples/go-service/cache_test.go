package main

import (
	"errors"
	"fmt"
	"sync"
	"testing"
)

func TestCachePutGetDelete(t *testing.T) {
	c := NewCache(0)
	if _, _, ok := c.Get("a"); ok {
		t.Fatal("Get on an empty cache found a value")
	}
	created, err := c.Put("a", []byte("one"), "text/plain")
	if err != nil || !created {
		t.Fatalf("first Put = %v, %v; want true, nil", created, err)
	}
	created, err = c.Put("a", []byte("two"), "text/csv")
	if err != nil || created {
		t.Fatalf("second Put = %v, %v; want false, nil", created, err)
	}
	v, ct, ok := c.Get("a")
	if !ok || string(v) != "two" || ct != "text/csv" {
		t.Fatalf("Get = %q, %q, %v; want \"two\", \"text/csv\", true", v, ct, ok)
	}
	if c.Len() != 1 {
		t.Fatalf("Len = %d, want 1", c.Len())
	}
	if !c.Delete("a") {
		t.Fatal("Delete of a present key = false")
	}
	if c.Delete("a") {
		t.Fatal("Delete of a missing key = true")
	}
	if c.Len() != 0 {
		t.Fatalf("Len after Delete = %d, want 0", c.Len())
	}
}

func TestCacheCopiesValues(t *testing.T) {
	c := NewCache(0)
	buf := []byte("abc")
	c.Put("k", buf, "")
	buf[0] = 'X'
	v, _, _ := c.Get("k")
	if string(v) != "abc" {
		t.Fatalf("stored value changed with the caller's buffer: %q", v)
	}
	v[1] = 'Y'
	again, _, _ := c.Get("k")
	if string(again) != "abc" {
		t.Fatalf("stored value changed with a returned slice: %q", again)
	}
}

func TestCacheEmptyValueIsPresent(t *testing.T) {
	c := NewCache(0)
	c.Put("empty", nil, "")
	v, _, ok := c.Get("empty")
	if !ok || v == nil || len(v) != 0 {
		t.Fatalf("Get(empty) = %#v, %v; want an empty non-nil slice, true", v, ok)
	}
}

func TestCacheLimit(t *testing.T) {
	c := NewCache(2)
	for _, k := range []string{"a", "b"} {
		if _, err := c.Put(k, []byte(k), ""); err != nil {
			t.Fatalf("Put(%s): %v", k, err)
		}
	}
	if _, err := c.Put("c", []byte("c"), ""); !errors.Is(err, ErrFull) {
		t.Fatalf("Put of a third key: err = %v, want ErrFull", err)
	}
	if _, err := c.Put("a", []byte("A"), ""); err != nil {
		t.Fatalf("replacing a key in a full cache: %v", err)
	}
	c.Delete("b")
	if _, err := c.Put("c", []byte("c"), ""); err != nil {
		t.Fatalf("Put after Delete freed a slot: %v", err)
	}
}

func TestCacheConcurrent(t *testing.T) {
	c := NewCache(0)
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := range 200 {
				k := fmt.Sprintf("k%d", i%10)
				c.Put(k, []byte{byte(g)}, "")
				c.Get(k)
				if i%7 == 0 {
					c.Delete(k)
				}
			}
		})
	}
	wg.Wait()
	if n := c.Len(); n > 10 {
		t.Fatalf("Len = %d, want at most 10 keys", n)
	}
}
