//go:build armbe || arm64be || mips || mips64 || ppc64 || s390x || sparc64

package format

// Sections are little-endian typed arrays viewed in place; big-endian hosts
// would need a decoding copy, which this product does not do.
var _ = "format: big-endian hosts are not supported" + 1
