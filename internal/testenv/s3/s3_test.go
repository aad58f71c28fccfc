package s3

import (
	"bytes"
	"context"
	"io"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
)

// TestServer: the server stores and returns an object, answers a ranged
// GET, and refuses a request signed with the wrong secret (it checks
// SigV4 signatures, as a real S3 does).
func TestServer(t *testing.T) {
	s := Start(t)
	bucket := s.Bucket(t)
	ctx := context.Background()
	c := s.Client()
	body := []byte("Subject: hi\r\n\r\nhello from the bucket\r\n")
	if _, err := c.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(bucket), Key: aws.String("a/b"),
		Body: bytes.NewReader(body)}); err != nil {
		t.Fatal(err)
	}
	out, err := c.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String("a/b"),
		Range: aws.String("bytes=15-24")})
	if err != nil {
		t.Fatal(err)
	}
	got, err := io.ReadAll(out.Body)
	if err != nil || string(got) != "hello from" {
		t.Errorf("ranged GET: %q, %v", got, err)
	}
	bad := s3.New(s3.Options{BaseEndpoint: aws.String(s.Endpoint), Region: s.Region, UsePathStyle: true,
		Credentials: credentials.NewStaticCredentialsProvider(s.AccessKeyID, "wrong", "")})
	if _, err := bad.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String("a/b")}); err == nil {
		t.Error("a request with the wrong secret was answered")
	}
}
