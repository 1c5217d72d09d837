//go:build !linux

package main

// keepProcessPrivate does nothing outside Linux: see private_linux.go.
func keepProcessPrivate() error { return nil }
