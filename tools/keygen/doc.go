// Package keygen owns `recotem keygen` (recotem-behavior.md §1.8): it makes
// a signing key (32 CSPRNG bytes, printed as 64 hex with its fingerprint)
// or an API key (32 CSPRNG bytes as 43 base64url characters with its scrypt
// digest), each with the exact env entry that configures it.
//
// Output is exactly four lines; the env_entry line parses with
// format.ParseKeyRing or apikey.ParseKeys respectively. Errors wrap
// ErrType or ErrKid (both ConfigErrors, exit code 8).
package keygen
