//go:build !unix

package storage

import "os"

// MapFile reads the file at path whole: systems without mmap.
func MapFile(path string) (data []byte, done func() error, err error) {
	data, err = os.ReadFile(path)
	return data, func() error { return nil }, err
}
