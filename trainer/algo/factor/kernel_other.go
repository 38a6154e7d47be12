//go:build !amd64 || purego

package factor

var useFused = false

func vsCVs32(vs []float32, p, c, q []float32) { vsCVsGo(vs, p, c, q) }

func axpyRows32(g, p, q []float32) { axpyRows32Go(g, p, q) }
