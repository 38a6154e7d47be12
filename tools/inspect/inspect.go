package inspect

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net/url"
	"os"
	"strconv"
	"strings"

	"github.com/recotem/recotem/format"
	"github.com/recotem/recotem/internal/blob"
)

// Exit codes of §1.2 that inspect uses.
const (
	ExitOK       = 0
	ExitArtifact = 5
	ExitFetch    = 7 // HttpFetchError: an http(s) download failed or was refused
	ExitConfig   = 8
)

// Options configure one inspection. Environment values arrive here from
// cmd/recotem (libraries never read the environment).
type Options struct {
	Path             string // local path, file:// URI, or http(s):// URL (with Fetch)
	DevAllowUnsigned bool   // --dev-allow-unsigned
	Env              string // RECOTEM_ENV (lower-cased)
	// Keys returns the configured ring: (nil, nil) when RECOTEM_SIGNING_KEYS
	// is unset, an error when it is malformed.
	Keys   func() (*format.KeyRing, error)
	Limits format.Limits // zero fields take the format defaults
	// Sections prints the payload section table after the header.
	Sections bool
	// Hex prints an annotated hex dump of the container after the header;
	// HexPayload bounds how many bytes of each section are shown (0 = 64).
	Hex        bool
	HexPayload int
	Logger     *slog.Logger // nil discards
	// Fetch streams an http(s) URL into w (cmd/recotem wires the guarded
	// fetcher with RECOTEM_HTTP_* settings). Nil: http(s) is unsupported.
	Fetch func(url string, w io.Writer) error
}

// Error is a failed inspection: the exit code and the one stderr line.
type Error struct {
	Code int
	Line string // e.g. "Artifact parse failed: magic bytes mismatch"
	Err  error
}

func (e *Error) Error() string { return e.Line }
func (e *Error) Unwrap() error { return e.Err }

// ErrDevNotAllowed: --dev-allow-unsigned without RECOTEM_ENV=development.
var ErrDevNotAllowed = errors.New("--dev-allow-unsigned requires RECOTEM_ENV=development")

// ErrNoKeys: RECOTEM_SIGNING_KEYS is unset and the dev flag was not given.
var ErrNoKeys = errors.New("RECOTEM_SIGNING_KEYS is not set")

func configErr(err error) *Error {
	return &Error{Code: ExitConfig, Line: "Configuration error: " + err.Error(), Err: err}
}

func artifactErr(err error) *Error {
	prefix := "Artifact parse failed: "
	if errors.Is(err, format.ErrUnknownKid) || errors.Is(err, format.ErrSignature) {
		prefix = "HMAC verification failed: "
	}
	code := ExitArtifact
	var fe *fetchError
	if errors.As(err, &fe) {
		code = ExitFetch // §1.2: an HTTP fetch error in the cause chain gives 7
	}
	return &Error{Code: code, Line: prefix + err.Error(), Err: err}
}

// fetchError marks a failed http(s) download (not the size cap).
type fetchError struct{ err error }

func (e *fetchError) Error() string { return "artifact missing or unreadable: " + e.err.Error() }
func (e *fetchError) Unwrap() error { return e.err }

// Run inspects opts.Path and writes the report to stdout. Any error is an
// *Error.
func Run(opts Options, stdout io.Writer) error {
	logger := opts.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	// 1. The development flag is checked before any I/O.
	if opts.DevAllowUnsigned && opts.Env != "development" {
		return configErr(ErrDevNotAllowed)
	}
	lim := opts.Limits
	if lim.MaxArtifactBytes <= 0 {
		lim.MaxArtifactBytes = format.DefaultMaxArtifactBytes
	}
	if lim.MaxPayloadBytes <= 0 {
		lim.MaxPayloadBytes = format.DefaultMaxPayloadBytes
	}
	// 2. Read at most cap+1 bytes, following a pointer.
	data, err := read(opts.Path, lim.MaxArtifactBytes, opts.Fetch)
	if err != nil {
		return artifactErr(err)
	}
	// 3. Caps and structure. A header that is not JSON is reported only
	// after the HMAC, as §4 orders it.
	if _, err := format.Parse(data, nil, lim); err != nil && !errors.Is(err, format.ErrHeaderJSON) {
		return artifactErr(err)
	}
	kid := kidOf(data)
	// 4. Keys.
	var ring *format.KeyRing
	if opts.Keys != nil {
		ring, err = opts.Keys()
		if err != nil {
			return configErr(err)
		}
	}
	switch {
	case ring != nil && opts.DevAllowUnsigned:
		logger.Warn("dev_allow_unsigned_ignored", "reason", "RECOTEM_SIGNING_KEYS is set; verifying with it", "kid", format.SafeKid(kid))
	case ring == nil && opts.DevAllowUnsigned:
		ring = format.DevKeyRing()
	case ring == nil:
		return configErr(fmt.Errorf("%w; the artifact is signed with kid '%s': set RECOTEM_SIGNING_KEYS to an entry for kid '%s' (the key that signed it), or, for a development artifact, pass --dev-allow-unsigned with RECOTEM_ENV=development",
			ErrNoKeys, format.SafeKid(kid), format.SafeKid(kid)))
	}
	// 5. Kid, HMAC, header JSON.
	c, err := format.Parse(data, ring, lim)
	if err != nil {
		return artifactErr(err)
	}
	out := AppendReport(nil, c)
	if opts.Sections {
		out = append(out, '\n')
		out = AppendSections(out, c)
	}
	if opts.Hex {
		out = append(out, '\n')
		out = AppendHex(out, c, opts.HexPayload)
	}
	if _, err := stdout.Write(out); err != nil {
		return &Error{Code: 1, Line: "recotem inspect: write output: " + err.Error(), Err: err}
	}
	return nil
}

// read returns the artifact's bytes (pointer followed), refusing files over
// maxBytes before reading them fully.
func read(loc string, maxBytes int64, fetch func(string, io.Writer) error) ([]byte, error) {
	if l := strings.ToLower(loc); fetch != nil && (strings.HasPrefix(l, "http://") || strings.HasPrefix(l, "https://")) {
		return readURL(loc, maxBytes, fetch)
	}
	if blob.IsRemote(loc) {
		return readObject(loc, maxBytes)
	}
	path, err := localPath(loc)
	if err != nil {
		return nil, err
	}
	target, _, err := format.ResolvePointer(path, maxBytes)
	if err != nil {
		return nil, err
	}
	f, err := os.Open(target)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, format.ErrNotFound
		}
		return nil, fmt.Errorf("artifact missing or unreadable: %w", err)
	}
	defer f.Close()
	if st, err := f.Stat(); err == nil && st.Size() > maxBytes {
		return nil, format.ErrTooLarge
	}
	data, err := io.ReadAll(io.LimitReader(f, maxBytes+1))
	if err != nil {
		return nil, fmt.Errorf("artifact missing or unreadable: %w", err)
	}
	if int64(len(data)) > maxBytes {
		return nil, format.ErrTooLarge
	}
	return data, nil
}

// readURL downloads an artifact (≤ maxBytes) and follows one pointer to a
// sibling URL.
func readURL(loc string, maxBytes int64, fetch func(string, io.Writer) error) ([]byte, error) {
	get := func(u string) ([]byte, error) {
		w := &capWriter{max: maxBytes}
		if err := fetch(u, w); err != nil {
			if errors.Is(err, format.ErrTooLarge) {
				return nil, format.ErrTooLarge
			}
			return nil, &fetchError{err}
		}
		return w.buf, nil
	}
	data, err := get(loc)
	if err != nil || !format.IsPointer(data) {
		return data, err
	}
	u, err := url.Parse(loc)
	if err != nil {
		return nil, fmt.Errorf("artifact missing or unreadable: %w", err)
	}
	target := u.ResolveReference(&url.URL{Path: strings.TrimSpace(string(data))})
	return get(target.String())
}

// readObject reads an s3/gs/az/abfs(s) artifact (≤ maxBytes) through
// internal/blob, following a pointer object to its sibling. Credentials and
// endpoints come from each cloud's standard environment.
func readObject(loc string, maxBytes int64) ([]byte, error) {
	st := blob.NewStore()
	defer st.Close()
	ctx := context.Background()
	target, info, _, err := st.Resolve(ctx, loc)
	if err == nil && info.Size > maxBytes {
		return nil, format.ErrTooLarge
	}
	var data []byte
	if err == nil {
		data, _, err = st.ReadAll(ctx, target, maxBytes)
	}
	switch {
	case errors.Is(err, blob.ErrNotFound):
		return nil, fmt.Errorf("%w: %v", format.ErrNotFound, err)
	case errors.Is(err, blob.ErrTooLarge):
		return nil, format.ErrTooLarge
	case err != nil:
		return nil, fmt.Errorf("artifact missing or unreadable: %w", err)
	}
	return data, nil
}

// capWriter buffers at most max bytes; one more is ErrTooLarge.
type capWriter struct {
	buf []byte
	max int64
}

func (w *capWriter) Write(p []byte) (int, error) {
	if int64(len(w.buf))+int64(len(p)) > w.max {
		return 0, format.ErrTooLarge
	}
	w.buf = append(w.buf, p...)
	return len(p), nil
}

// ErrScheme: an artifact URI this build cannot read.
var ErrScheme = errors.New("unsupported artifact location")

func localPath(loc string) (string, error) {
	i := strings.Index(loc, "://")
	if i <= 0 {
		return loc, nil
	}
	scheme := strings.ToLower(loc[:i])
	if scheme != "file" {
		return "", fmt.Errorf("%w: %s:// (inspect reads local paths and file, s3, gs, az, abfs(s) and http(s) URIs)", ErrScheme, scheme)
	}
	u, err := url.Parse(loc)
	if err != nil || (u.Host != "" && u.Host != "localhost") {
		return "", fmt.Errorf("%w: file URI must name a local path", ErrScheme)
	}
	return u.Path, nil
}

// kidOf reads the kid of a structurally valid container.
func kidOf(data []byte) string {
	if len(data) < 13 || len(data) < 13+int(data[12]) {
		return ""
	}
	return string(data[13 : 13+int(data[12])])
}

// AppendReport appends §1.5's output: the HMAC line, then the header JSON
// indented by two spaces with its keys in signed order.
func AppendReport(dst []byte, c *format.Container) []byte {
	dst = append(dst, "HMAC: OK  (kid='"...)
	dst = append(dst, displayKid(c.Kid)...)
	dst = append(dst, "')\n"...)
	var buf bytes.Buffer
	if err := json.Indent(&buf, c.Header.Raw, "", "  "); err != nil {
		// Parse accepted it as a JSON object, so this cannot happen.
		buf.Reset()
		buf.Write(c.Header.Raw)
	}
	dst = append(dst, buf.Bytes()...)
	return append(dst, '\n')
}

// displayKid prints a printable kid as is and escapes anything else.
func displayKid(kid string) string {
	for _, r := range kid {
		if !strconv.IsPrint(r) || r == '\'' || r == '\\' {
			return format.SafeKid(kid)
		}
	}
	return kid
}

// AppendSections appends the payload section table: one row per section in
// file order with offset, length, the zero padding after it, dtype, shape
// and row stride. A container without a payload object says so.
func AppendSections(dst []byte, c *format.Container) []byte {
	ph := c.Header.Payload
	size := int64(len(c.Data))
	if ph == nil {
		return fmt.Appendf(dst, "payload: %d bytes, no section table (not a recotem-go payload)\n", size-c.PayloadOffset)
	}
	secs := append([]format.Section(nil), ph.Sections...)
	sortByOffset(secs)
	dst = fmt.Appendf(dst, "payload: layout_version=%d alignment=%d sections=%d header_end=%d file_size=%d\n",
		ph.LayoutVersion, ph.Alignment, len(secs), c.PayloadOffset, size)
	dst = fmt.Appendf(dst, "%-10s %12s %8s  %-5s %-16s %6s  %s\n", "offset", "length", "pad", "dtype", "shape", "stride", "name")
	for i, s := range secs {
		end := s.Offset + s.Length
		next := size
		if i+1 < len(secs) {
			next = secs[i+1].Offset
		}
		stride := ""
		if s.Stride != 0 {
			stride = strconv.FormatInt(s.Stride, 10)
		}
		name := s.Name
		if s.Cols != 0 {
			name += " (cols=" + strconv.FormatInt(s.Cols, 10) + ")"
		}
		dst = fmt.Appendf(dst, "0x%08x %12d %8d  %-5s %-16s %6s  %s\n", s.Offset, s.Length, next-end, s.DType, shapeString(s.Shape), stride, name)
	}
	return dst
}

func shapeString(sh []int64) string {
	parts := make([]string, len(sh))
	for i, d := range sh {
		parts[i] = strconv.FormatInt(d, 10)
	}
	return "[" + strings.Join(parts, ",") + "]"
}

func sortByOffset(s []format.Section) {
	for i := 1; i < len(s); i++ {
		for j := i; j > 0 && s[j].Offset < s[j-1].Offset; j-- {
			s[j], s[j-1] = s[j-1], s[j]
		}
	}
}

// AppendHex appends an annotated hex dump of the container: every fixed
// field, the header JSON, and the payload with zero padding runs collapsed
// and at most perSection bytes of each section (0 means 64).
func AppendHex(dst []byte, c *format.Container, perSection int) []byte {
	if perSection <= 0 {
		perSection = 64
	}
	d := c.Data
	k := int64(d[12])
	p := 13 + k
	dst = hexField(dst, d, 0, 8, `magic "RECOTEM\0"`)
	dst = hexField(dst, d, 8, 2, fmt.Sprintf("version u16 = %d", binary.LittleEndian.Uint16(d[8:])))
	dst = hexField(dst, d, 10, 2, "reserved u16 = 0")
	dst = hexField(dst, d, 12, 1, fmt.Sprintf("kid length u8 = %d", k))
	dst = hexField(dst, d, 13, k, "kid "+strconv.Quote(c.Kid))
	dst = hexField(dst, d, p, 32, "HMAC-SHA256(key, kid || header || payload)")
	n := int64(binary.LittleEndian.Uint32(d[p+32:]))
	dst = hexField(dst, d, p+32, 4, fmt.Sprintf("header length u32 = %d", n))
	hn := min(n, int64(4*perSection))
	dst = hexField(dst, d, p+36, hn, "header JSON")
	if hn < n {
		dst = fmt.Appendf(dst, "%08x  ... %d more header bytes\n", p+36+hn, n-hn)
	}
	pos := c.PayloadOffset
	size := int64(len(d))
	var secs []format.Section
	if c.Header.Payload != nil {
		secs = append(secs, c.Header.Payload.Sections...)
		sortByOffset(secs)
	}
	for _, s := range secs {
		if s.Offset < pos || s.Offset+s.Length > size {
			break // not validated here: stop rather than guess
		}
		dst = hexGap(dst, d, pos, s.Offset)
		show := min(s.Length, int64(perSection))
		label := fmt.Sprintf("section %s %s%s", s.Name, s.DType, shapeString(s.Shape))
		dst = hexField(dst, d, s.Offset, show, label)
		if show < s.Length {
			dst = fmt.Appendf(dst, "%08x  ... %d more bytes of %s\n", s.Offset+show, s.Length-show, s.Name)
		}
		pos = s.Offset + s.Length
	}
	if len(secs) == 0 && pos < size {
		show := min(size-pos, int64(perSection))
		dst = hexField(dst, d, pos, show, "payload (opaque)")
		if show < size-pos {
			dst = fmt.Appendf(dst, "%08x  ... %d more payload bytes\n", pos+show, size-pos-show)
		}
		pos = size
	}
	dst = hexGap(dst, d, pos, size)
	return fmt.Appendf(dst, "%08x  end of file\n", size)
}

// hexGap describes [from, to): a zero run is collapsed, anything else dumped.
func hexGap(dst, d []byte, from, to int64) []byte {
	if to <= from {
		return dst
	}
	for _, b := range d[from:to] {
		if b != 0 {
			return hexField(dst, d, from, to-from, "unlisted bytes")
		}
	}
	return fmt.Appendf(dst, "%08x  00 x %d (zero padding to offset %d)\n", from, to-from, to)
}

// hexField dumps d[off:off+n] 16 bytes per line, labelling the first line.
func hexField(dst, d []byte, off, n int64, label string) []byte {
	if n == 0 {
		return fmt.Appendf(dst, "%08x  %s (empty)\n", off, label)
	}
	for i := int64(0); i < n; i += 16 {
		end := min(i+16, n)
		var hx strings.Builder
		for j := i; j < end; j++ {
			if j > i {
				hx.WriteByte(' ')
			}
			fmt.Fprintf(&hx, "%02x", d[off+j])
		}
		l := ""
		if i == 0 {
			l = label
		}
		line := fmt.Appendf(nil, "%08x  %-48s  %s", off+i, hx.String(), l)
		dst = append(bytes.TrimRight(append(dst, line...), " "), '\n')
	}
	return dst
}
