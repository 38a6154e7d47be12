//go:build !race

package itemitem

const raceEnabled = false
