package blob

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/recotem/recotem/format"
)

// WriteArtifact publishes an artifact at an object URI (recotem-behavior.md
// §3.10, object stores): encode runs once into a private temporary file
// while the bytes are hashed; always_overwrite then puts outputURI,
// append_sha puts the immutable "<stem>.<sha8>.recotem" first and the
// pointer object at outputURI ("<basename>\n") last, so a reader that sees
// the new pointer always finds its target. Old sha objects are never
// deleted. On failure nothing after the failed put is written.
func (s *Store) WriteArtifact(ctx context.Context, outputURI, versioning string, encode func(io.Writer) error) (format.WriteResult, error) {
	if versioning == "" {
		versioning = format.AppendSHA
	}
	if versioning != format.AppendSHA && versioning != format.AlwaysOverwrite {
		return format.WriteResult{}, fmt.Errorf("unknown versioning %q", versioning)
	}
	if _, err := Parse(outputURI); err != nil {
		return format.WriteResult{}, err
	}
	tmp, err := os.CreateTemp("", "recotem-artifact-*")
	if err != nil {
		return format.WriteResult{}, fmt.Errorf("create temp artifact: %w", err)
	}
	defer func() { tmp.Close(); os.Remove(tmp.Name()) }()
	h := sha256.New()
	if err := encode(io.MultiWriter(tmp, h)); err != nil {
		return format.WriteResult{}, fmt.Errorf("write artifact: %w", err)
	}
	if _, err := tmp.Seek(0, io.SeekStart); err != nil {
		return format.WriteResult{}, fmt.Errorf("rewind temp artifact: %w", err)
	}
	sum := hex.EncodeToString(h.Sum(nil))
	final := outputURI
	if versioning == format.AppendSHA {
		final = strings.TrimSuffix(outputURI, ".recotem") + "." + sum[:8] + ".recotem"
	}
	if err := s.Put(ctx, final, tmp); err != nil {
		return format.WriteResult{}, err
	}
	res := format.WriteResult{Artifact: final, SHA256: sum}
	if versioning == format.AppendSHA {
		name := final[strings.LastIndex(final, "/")+1:]
		if err := s.Put(ctx, outputURI, strings.NewReader(name+"\n")); err != nil {
			return format.WriteResult{}, err
		}
		res.Pointer = outputURI
	}
	return res, nil
}
