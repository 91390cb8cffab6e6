// Package depcheck holds a test that enforces xbuild's package boundaries;
// it has no code of its own.
package depcheck
