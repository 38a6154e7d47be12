// Package apikey owns API keys for the HTTP surfaces: generating plaintexts,
// digesting them exactly as upstream Recotem does (scrypt with the salt
// "recotem.api-key.v1", N=2, r=8, p=1, 32 bytes), and parsing the
// RECOTEM_API_KEYS list of kid:sha256:digest entries.
//
// Keys made by upstream Recotem authenticate here and the other way round,
// because the digest function and its parameters are the same. The
// "sha256:" token in RECOTEM_API_KEYS is only a label.
//
// Errors never contain plaintexts or digests; a malformed entry is named by
// its 1-based position in the list.
//
// All functions are safe for concurrent use.
package apikey
