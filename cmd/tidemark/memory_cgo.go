//go:build cgo && linux

package main

func init() { cgoBuild = true }
