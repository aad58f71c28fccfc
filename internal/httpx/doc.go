// Package httpx holds the plumbing of mtm's HTTP server that operators
// configure and watch, apart from any page:
//
//   - Proxies: the client's address and scheme of a request, believing the
//     X-Forwarded-For and X-Forwarded-Proto headers only from the reverse
//     proxies of http.trusted_proxies;
//   - TLSConfig: the *tls.Config of a server that serves HTTPS itself from
//     http.tls_cert_file and http.tls_key_file, reloading the files when
//     they change (a renewed certificate needs no restart);
//   - Healthz and Readyz: the /healthz (the process is up) and /readyz (it
//     can serve: the catalog answers, the data directory is writable)
//     endpoints for load balancers and service managers.
//
// It owns no state on disk; Readyz's DirWritable check creates and removes
// one small file in the directory it checks.
package httpx
