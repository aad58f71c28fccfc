package store

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"mtm/internal/blobstore"
	"mtm/internal/catalog"
)

// S3Options say where the blobs are in S3-compatible object storage
// (the [blobs] section).
type S3Options struct {
	URL      string // s3://BUCKET/PREFIX
	Endpoint string // "" for AWS
	Region   string
	// PathStyle addresses the bucket in the path (self-hosted servers).
	PathStyle bool
	// AccessKeyID and SecretAccessKey, when empty, come from the standard
	// AWS environment variables and shared configuration.
	AccessKeyID, SecretAccessKey string
	PackSizeMiB                  int
	UploadConcurrency            int // packs uploaded at once by a Sync
}

// ParseS3URL splits "s3://BUCKET/PREFIX" into the bucket and the key
// prefix ("" or ending in "/").
func ParseS3URL(u string) (bucket, prefix string, err error) {
	rest, ok := strings.CutPrefix(u, "s3://")
	bucket, prefix, _ = strings.Cut(rest, "/")
	if !ok || bucket == "" {
		return "", "", fmt.Errorf("blobs url %q is not s3://BUCKET/PREFIX", u)
	}
	prefix = strings.Trim(prefix, "/")
	if prefix != "" {
		prefix += "/"
	}
	return bucket, prefix, nil
}

// NewS3Client returns the S3 client of o: path-style when asked, request
// checksums only where the API requires them (several self-hosted servers
// refuse the CRC32 that aws-sdk-go-v2 sends by default), and retries with
// backoff on timeouts, resets, 5xx and throttling (5 attempts).
func NewS3Client(ctx context.Context, o S3Options) (*s3.Client, error) {
	var loads []func(*awsconfig.LoadOptions) error
	loads = append(loads, awsconfig.WithRegion(o.Region), awsconfig.WithRetryMaxAttempts(5))
	if o.AccessKeyID != "" {
		loads = append(loads, awsconfig.WithCredentialsProvider(
			credentials.NewStaticCredentialsProvider(o.AccessKeyID, o.SecretAccessKey, "")))
	}
	cfg, err := awsconfig.LoadDefaultConfig(ctx, loads...)
	if err != nil {
		return nil, fmt.Errorf("blobs: S3 configuration: %w", err)
	}
	return s3.NewFromConfig(cfg, func(so *s3.Options) {
		if o.Endpoint != "" {
			so.BaseEndpoint = aws.String(o.Endpoint)
		}
		so.UsePathStyle = o.PathStyle
		so.RequestChecksumCalculation = aws.RequestChecksumCalculationWhenRequired
		so.ResponseChecksumValidation = aws.ResponseChecksumValidationWhenRequired
	}), nil
}

// openS3 opens the S3 blob store of o, its index in cat.
func openS3(ctx context.Context, o Options, cat *catalog.DB) (*blobstore.S3, error) {
	bucket, prefix, err := ParseS3URL(o.S3.URL)
	if err != nil {
		return nil, err
	}
	client, err := NewS3Client(ctx, o.S3)
	if err != nil {
		return nil, err
	}
	return blobstore.NewS3(blobstore.S3Options{Client: client, Bucket: bucket, Prefix: prefix, Index: BlobIndex(cat),
		TmpDir: filepath.Join(o.DataDir, "tmp"), PackTarget: o.S3.PackSizeMiB << 20, Uploads: o.S3.UploadConcurrency, Clock: o.Clock})
}
