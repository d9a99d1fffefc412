//go:build !race

package realwin

const raceBuild = false
