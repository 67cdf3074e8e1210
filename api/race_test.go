//go:build race

package api_test

// raceDetector is whether the tests run with the race detector, under
// which sync.Pool drops a share of what is put back and more escapes to
// the heap: allocation counts are then not the server's.
const raceDetector = true
