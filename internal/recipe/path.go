package recipe

import (
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
)

var (
	inputSchemes  = map[string]bool{"file": true, "s3": true, "gs": true, "az": true, "abfs": true, "abfss": true, "http": true, "https": true}
	outputSchemes = map[string]bool{"file": true, "s3": true, "gs": true, "az": true, "abfs": true, "abfss": true}
	noUserinfo    = map[string]bool{"http": true, "https": true, "ftp": true, "ftps": true, "s3": true, "abfs": true, "abfss": true}
)

// Scheme returns the lower-cased URI scheme of p ("" for a bare path).
func Scheme(p string) string {
	i := strings.Index(p, "://")
	if i <= 0 {
		return ""
	}
	s := p[:i]
	for k, c := range s {
		alpha := (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
		if !alpha && (k == 0 || !(c >= '0' && c <= '9' || c == '+' || c == '-' || c == '.')) {
			return ""
		}
	}
	return strings.ToLower(s)
}

// IsLocal reports whether p names a local file (bare or file://).
func IsLocal(p string) bool {
	s := Scheme(p)
	return s == "" || s == "file"
}

// LocalPath returns the filesystem path of a bare or file:// path.
func LocalPath(p string) (string, error) {
	switch Scheme(p) {
	case "":
		return p, nil
	case "file":
		u, err := url.Parse(p)
		if err != nil {
			return "", fmt.Errorf("invalid file URI: %w", err)
		}
		if u.Host != "" && !strings.EqualFold(u.Host, "localhost") {
			return "", errors.New("file URI with a remote host")
		}
		if u.Path == "" {
			return "", errors.New("file URI without a path")
		}
		return u.Path, nil
	}
	return "", fmt.Errorf("not a local path (scheme %s)", Scheme(p))
}

// withoutIPv6Host drops a bracketed IPv6 literal host ("https://[::1]/x")
// from p's authority: its colons are an address, not a '::' chain.
func withoutIPv6Host(p string) string {
	i := strings.Index(p, "://")
	if i < 0 {
		return p
	}
	auth := p[i+3:]
	if j := strings.IndexAny(auth, "/?#"); j >= 0 {
		auth = auth[:j]
	}
	o := strings.IndexByte(auth, '[')
	c := strings.IndexByte(auth, ']')
	if o < 0 || c < o {
		return p
	}
	start := i + 3 + o
	return p[:start] + p[i+3+c+1:]
}

// checkPath applies §3.5 to one input or output path; the message never
// repeats the path (it may hold an expanded env value).
func checkPath(p string, output bool) string {
	if strings.Contains(withoutIPv6Host(p), "::") {
		return "'::' chains are not allowed"
	}
	s := Scheme(p)
	if s == "" {
		if strings.Contains(p, "://") {
			return "malformed URI scheme"
		}
		return ""
	}
	allowed := inputSchemes
	kind := "input"
	if output {
		allowed, kind = outputSchemes, "output"
	}
	if !allowed[s] {
		return fmt.Sprintf("scheme %q is not allowed for an %s path", s, kind)
	}
	u, err := url.Parse(p)
	if err != nil {
		return "malformed URI"
	}
	if noUserinfo[s] && u.User != nil {
		return fmt.Sprintf("userinfo is not allowed in %s URIs", s)
	}
	if s == "file" {
		if u.Host != "" && !strings.EqualFold(u.Host, "localhost") {
			return "file URI host must be empty or localhost"
		}
	}
	return ""
}

// CheckContainment verifies that the local output path out lies inside root
// with symlinks resolved (recotem-behavior.md §3.5): the parent must exist,
// and the resolved parent and parent+name must both be inside the resolved
// root. The train pipeline calls it again just before its rename.
func CheckContainment(root, out string) error {
	lp, err := LocalPath(out)
	if err != nil {
		return err
	}
	rr, err := filepath.EvalSymlinks(root)
	if err != nil {
		return fmt.Errorf("RECOTEM_ARTIFACT_ROOT: %w", errors.Unwrap(err))
	}
	rr, err = filepath.Abs(rr)
	if err != nil {
		return err
	}
	abs, err := filepath.Abs(lp)
	if err != nil {
		return err
	}
	parent := filepath.Dir(abs)
	rp, err := filepath.EvalSymlinks(parent)
	if err != nil {
		return errors.New("output directory does not exist")
	}
	if !within(rr, rp) {
		return errors.New("output directory is outside RECOTEM_ARTIFACT_ROOT")
	}
	full := filepath.Join(rp, filepath.Base(abs))
	if fi, err := os.Lstat(full); err == nil && fi.Mode()&os.ModeSymlink != 0 {
		t, err := filepath.EvalSymlinks(full)
		if err != nil {
			// A dangling link: judge its literal target.
			l, lerr := os.Readlink(full)
			if lerr != nil {
				return errors.New("output path cannot be resolved")
			}
			if !filepath.IsAbs(l) {
				l = filepath.Join(rp, l)
			}
			t = filepath.Clean(l)
		}
		full = t
	}
	if !within(rr, full) || full == rr {
		return errors.New("output path is outside RECOTEM_ARTIFACT_ROOT")
	}
	return nil
}

func within(root, p string) bool {
	rel, err := filepath.Rel(root, p)
	if err != nil {
		return false
	}
	return rel == "." || (rel != ".." && !strings.HasPrefix(rel, ".."+string(filepath.Separator)))
}
