// Package blob owns recotem's one view of object stores (recotem-behavior.md
// §3.5, §3.10, §5.4, §7): it opens the bucket behind an s3://, gs://, az://,
// abfs://, abfss:// or file:// URI through gocloud.dev/blob, stats an object
// (size plus a change marker: VersionId, else ETag, else mtime and size),
// reads an object under a byte cap (refused from the stat before any body
// byte when the store reports the size, and cut at cap+1 otherwise), puts an
// object in one request (a plain put: readers never see a partial object),
// and follows artifact pointer objects the way format.ResolvePointer follows
// pointer files.
//
// Endpoints and credentials come only from each cloud's standard
// environment, read by that cloud's SDK: for S3 AWS_ENDPOINT_URL /
// AWS_ENDPOINT_URL_S3, AWS_REGION, AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY
// and the rest of the SDK's default chain; a custom endpoint switches to
// path-style addressing and to checksums only where the API requires them,
// as S3-compatible servers need. GCS uses Application Default Credentials
// (STORAGE_EMULATOR_HOST honoured); Azure the AZURE_STORAGE_* variables
// (account + key, SAS token, connection string; domain, protocol and
// local-emulator switches) or the default Azure identity. Each bucket open
// reads the environment afresh, through the SDKs. Nothing here calls
// os.Getenv itself, and no
// URI may carry credentials: userinfo is refused for s3, abfs and abfss
// (the recipe layer refuses it first); gs://p@b and az://c@acct keep theirs
// as the bucket's qualifiers.
//
// A Store caches one bucket handle per (scheme, bucket) and is safe for
// concurrent use; Close releases the handles. Every failure is an *Error
// naming the operation and the URI; errors.Is singles out ErrNotFound,
// ErrPermission, ErrTooLarge and ErrUnsupported.
package blob
