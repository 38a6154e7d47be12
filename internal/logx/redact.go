package logx

import (
	"regexp"
	"strings"
)

// Redacted replaces the whole value of a secret-bearing field.
const Redacted = "[REDACTED]"

// Replacement tokens of the value rules.
const (
	RedactedHex64    = "[REDACTED-HEX64]"
	RedactedB64URL43 = "[REDACTED-B64URL43]"
)

var exemptKeys = map[string]bool{
	"monkey": true, "turkey": true, "donkey": true, "hockey": true, "jockey": true,
	"auth_enabled": true, "signing_key_status": true, "signing_keys": true,
	"signing_kids": true, "kid": true, "active_kid": true,
	"fingerprint": true, "fingerprints": true,
}

var sensitiveExact = map[string]bool{
	"x-api-key": true, "authorization": true, "cookie": true,
	"recotem_signing_key": true, "recotem_signing_keys": true, "recotem_api_keys": true,
}

var sensitivePrefixes = []string{"aws_", "gcp_", "google_", "azure_"}

var sensitiveParts = []string{"secret", "password", "passwd", "token", "auth", "bearer", "cred", "private"}

// SensitiveKey reports whether a field named key has its value replaced by
// "[REDACTED]" (§9 key rules, case-insensitive).
func SensitiveKey(key string) bool {
	k := strings.ToLower(key)
	if exemptKeys[k] {
		return false
	}
	if sensitiveExact[k] {
		return true
	}
	for _, p := range sensitivePrefixes {
		if strings.HasPrefix(k, p) {
			return true
		}
	}
	for _, p := range sensitiveParts {
		if strings.Contains(k, p) {
			return true
		}
	}
	return hasSingularKey(k)
}

// hasSingularKey implements the regular expression key(?!s\b): an
// occurrence of "key" that is not the plural "keys" at a word end.
func hasSingularKey(k string) bool {
	for i := 0; ; {
		j := strings.Index(k[i:], "key")
		if j < 0 {
			return false
		}
		p := i + j + 3
		plural := p < len(k) && k[p] == 's' && (p+1 == len(k) || !isWordByte(k[p+1]))
		if !plural {
			return true
		}
		i = p
	}
}

func isWordByte(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_'
}

// URL userinfo: any userinfo for the database/broker/web schemes of §9 and
// their "+driver" forms; for every other scheme a "user:password@" form.
var (
	userinfoKnown = regexp.MustCompile(`(?i)\b((?:https?|ftps?|postgres(?:ql)?|mysql|mariadb|mssql|oracle|mongodb|redis|rediss|amqps?)(?:\+[a-z0-9_]+)?)://[^/\s]*@`)
	userinfoAny   = regexp.MustCompile(`(?i)\b([a-z][a-z0-9+.-]*)://[^/\s:@]*:[^/\s]*@`)
	hex64         = regexp.MustCompile(`[0-9A-Fa-f]{64,}`)
	b64url43      = regexp.MustCompile(`[A-Za-z0-9_-]{43,}`)
)

// RedactURL replaces the userinfo of URLs in s with "***":
// "postgresql+psycopg://u:p@db/x" → "postgresql+psycopg://***@db/x".
func RedactURL(s string) string {
	if !strings.Contains(s, "://") {
		return s
	}
	s = userinfoKnown.ReplaceAllString(s, "${1}://***@")
	return userinfoAny.ReplaceAllString(s, "${1}://***@")
}

// RedactString applies the §9 value rules to s: URL userinfo, then runs of
// ≥64 hex characters, then runs of ≥43 base64url characters.
func RedactString(s string) string {
	if len(s) < 43 && !strings.Contains(s, "://") {
		return s // fast path: too short for any rule
	}
	s = RedactURL(s)
	if len(s) >= 43 {
		s = hex64.ReplaceAllLiteralString(s, RedactedHex64)
		s = b64url43.ReplaceAllLiteralString(s, RedactedB64URL43)
	}
	return s
}

// SafeKid renders a kid for logs and error texts (§9 log-safe kid): bytes
// outside [A-Za-z0-9_.:-] become \xHH, a kid longer than 64 bytes is cut to
// 64 + "...", and an empty kid is "<empty>".
func SafeKid(kid string) string {
	if kid == "" {
		return "<empty>"
	}
	const hexdig = "0123456789abcdef"
	var b strings.Builder
	for i := 0; i < len(kid); i++ {
		if i == 64 {
			b.WriteString("...")
			break
		}
		c := kid[i]
		if isWordByte(c) || c == '.' || c == ':' || c == '-' {
			b.WriteByte(c)
		} else {
			b.WriteString(`\x`)
			b.WriteByte(hexdig[c>>4])
			b.WriteByte(hexdig[c&15])
		}
	}
	return b.String()
}
