//go:build !(linux && (amd64 || arm64))

package main

import "errors"

func evict(string) error { return errors.New("evicting a file from the page cache needs Linux") }
