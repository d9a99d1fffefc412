//go:build race

package realwin

// raceBuild: the kiosk under test is built with -race too (the packages are in the build
// cache from `go test -race`, and the real window is checked for data races).
const raceBuild = true
