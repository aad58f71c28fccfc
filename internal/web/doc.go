// Package web is the core that every HTTP front end of mtm shares (the
// webmail, the admin panel, and any later one), and the plumbing of the
// server that operators configure and watch:
//
//   - Guard: the security headers of an interface and its protection
//     against cross-origin state changes (http.CrossOriginProtection,
//     trusting the origin of base_url), and whether its cookies must be
//     Secure;
//   - WriteJSON, WriteError, ReadJSON and SetRetryAfter: the JSON answers
//     and request bodies of every API (docs/api.md);
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
// Logins and sessions are package webauth's. This package owns no state on
// disk; Readyz's DirWritable check creates and removes one small file in
// the directory it checks.
package web
