//go:build !race

package wedgee2e

const raceBuild = false
