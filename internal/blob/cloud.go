//go:build !recotem_nocloud

// The drivers of full builds: gocloud.dev/blob for every scheme (fileblob
// for file://, S3, GCS, Azure Blob with their SDKs). Builds with the
// recotem_nocloud tag (the quick `make demo` binary) take nocloud.go
// instead: file:// as a plain directory, no gocloud and no cloud SDK;
// `make build` and the image keep these.

package blob

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"

	"cloud.google.com/go/storage"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/aws/aws-sdk-go-v2/aws"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	gcblob "gocloud.dev/blob"
	"gocloud.dev/blob/azureblob"
	"gocloud.dev/blob/fileblob"
	"gocloud.dev/blob/gcsblob"
	"gocloud.dev/blob/s3blob"
	"gocloud.dev/gcerrors"
)

// CloudDrivers reports whether this build can open s3://, gs:// and az://
// URIs (false under the recotem_nocloud build tag).
const CloudDrivers = true

func openBucket(ctx context.Context, loc Location) (bucket, error) {
	var b *gcblob.Bucket
	var err error
	switch loc.Scheme {
	case "file":
		b, err = fileblob.OpenBucket(loc.Bucket, &fileblob.Options{Metadata: fileblob.MetadataDontWrite, NoTempDir: true, CreateDir: true})
	case "s3":
		b, err = openS3(ctx, loc.Bucket)
	case "gs":
		b, err = openGCS(ctx, loc.Bucket)
	case "az", "abfs", "abfss":
		b, err = openAzure(ctx, loc)
	default:
		return nil, ErrUnsupported
	}
	if err != nil {
		return nil, err
	}
	return gcBucket{b}, nil
}

// gcBucket adapts a gocloud bucket.
type gcBucket struct{ b *gcblob.Bucket }

func (g gcBucket) attributes(ctx context.Context, key string) (Info, error) {
	a, err := g.b.Attributes(ctx, key)
	if err != nil {
		return Info{}, err
	}
	return Info{Size: a.Size, ModTime: a.ModTime, ETag: a.ETag, VersionID: versionID(a)}, nil
}

func (g gcBucket) newReader(ctx context.Context, key string) (io.ReadCloser, error) {
	return g.b.NewReader(ctx, key, nil)
}

func (g gcBucket) newWriter(ctx context.Context, key string) (io.WriteCloser, error) {
	return g.b.NewWriter(ctx, key, &gcblob.WriterOptions{ContentType: "application/octet-stream"})
}

func (g gcBucket) close() error { return g.b.Close() }

// driverKind maps a driver error onto ErrNotFound/ErrPermission (nil when
// neither). azureblob maps only AuthenticationFailed; a HEAD carries its
// error code in a header alone (azurite and RBAC denials say
// AuthorizationFailure), so an Azure 401/403 goes by the status.
func driverKind(err error) error {
	switch gcerrors.Code(err) {
	case gcerrors.NotFound:
		return ErrNotFound
	case gcerrors.PermissionDenied:
		return ErrPermission
	}
	var ae *azcore.ResponseError
	if errors.As(err, &ae) && (ae.StatusCode == http.StatusUnauthorized || ae.StatusCode == http.StatusForbidden) {
		return ErrPermission
	}
	return nil
}

// openGCS builds a storage client per bucket open from the SDK's own
// environment handling: STORAGE_EMULATOR_HOST (host:port or a URL) selects
// an unauthenticated client against that emulator, otherwise Application
// Default Credentials. Unlike gocloud's default "gs" opener it neither
// caches the environment for the life of the process nor prints credential
// warnings on stdout.
func openGCS(ctx context.Context, bucket string) (*gcblob.Bucket, error) {
	c, err := storage.NewClient(ctx)
	if err != nil {
		return nil, err
	}
	b, err := gcsblob.OpenBucket(ctx, nil, bucket, &gcsblob.Options{Client: c})
	if err != nil {
		c.Close()
		return nil, err
	}
	return b, nil
}

// openAzure reads the AZURE_STORAGE_* environment through azureblob's
// exported helpers on every bucket open (gocloud's default "azblob" opener
// reads it once per process): AZURE_STORAGE_ACCOUNT + AZURE_STORAGE_KEY,
// AZURE_STORAGE_SAS_TOKEN, AZURE_STORAGE_CONNECTION_STRING (whose
// BlobEndpoint names the service, e.g. an emulator), else the default Azure
// identity; AZURE_STORAGE_DOMAIN, AZURE_STORAGE_PROTOCOL and
// AZURE_STORAGE_IS_LOCAL_EMULATOR shape the service URL. The account of
// az://container@account overrides AZURE_STORAGE_ACCOUNT, except that a SAS
// token is never sent to an account other than its own.
func openAzure(ctx context.Context, loc Location) (*gcblob.Bucket, error) {
	opts := azureblob.NewDefaultServiceURLOptions()
	if loc.Account != "" && opts.SASToken != "" && !strings.EqualFold(loc.Account, opts.AccountName) {
		return nil, &Error{Op: "open bucket", Kind: ErrPermission,
			Err: fmt.Errorf("AZURE_STORAGE_SAS_TOKEN is for account %q, not %q", opts.AccountName, loc.Account)}
	}
	if loc.Account != "" {
		opts.AccountName = loc.Account
	}
	svc, err := azureblob.NewServiceURL(opts)
	if err != nil {
		return nil, err
	}
	client, err := azureblob.NewDefaultClient(svc, azureblob.ContainerName(loc.Bucket))
	if err != nil {
		return nil, err
	}
	return azureblob.OpenBucket(ctx, client, nil)
}

// openS3 builds the client from the SDK's default chain (environment,
// shared files, instance roles). A custom endpoint (AWS_ENDPOINT_URL or
// AWS_ENDPOINT_URL_S3) selects path-style addressing and checksums only
// where required, as S3-compatible servers need.
func openS3(ctx context.Context, bucket string) (*gcblob.Bucket, error) {
	cfg, err := awsconfig.LoadDefaultConfig(ctx)
	if err != nil {
		return nil, err
	}
	if cfg.Region == "" {
		cfg.Region = "us-east-1"
	}
	custom := false
	client := s3.NewFromConfig(cfg, func(o *s3.Options) {
		if o.BaseEndpoint != nil && *o.BaseEndpoint != "" {
			custom = true
			o.UsePathStyle = true
			o.RequestChecksumCalculation = aws.RequestChecksumCalculationWhenRequired
			o.ResponseChecksumValidation = aws.ResponseChecksumValidationWhenRequired
		}
	})
	opt := &s3blob.Options{RequestChecksumCalculation: cfg.RequestChecksumCalculation}
	if custom {
		opt.RequestChecksumCalculation = aws.RequestChecksumCalculationWhenRequired
	}
	return s3blob.OpenBucket(ctx, client, bucket, opt)
}

// versionID is the S3 VersionId, or the GCS generation as "g<n>", of an
// object's attributes; "" when the store has neither.
func versionID(a *gcblob.Attributes) string {
	var head s3.HeadObjectOutput
	var gattrs storage.ObjectAttrs
	switch {
	case a.As(&head):
		return aws.ToString(head.VersionId)
	case a.As(&gattrs) && gattrs.Generation != 0:
		return "g" + strconv.FormatInt(gattrs.Generation, 10)
	}
	return ""
}
