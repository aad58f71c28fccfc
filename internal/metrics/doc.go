// Package metrics owns mtm's Prometheus metrics, served at /metrics by
// `mtm serve`. Everything is registered on a prometheus.Registry that the
// caller creates and passes in (never the global default registry), so
// tests and several servers in one process do not share counters.
//
// Events are counted when they happen, through methods that the code doing
// the work calls:
//
//	mtm_snapshot_duration_seconds{outcome}      histogram, outcome ok|failed
//	mtm_snapshot_failures_total                 counter
//	mtm_snapshot_retries_total                  counter (scheduler attempts after the first)
//	mtm_snapshot_fetched_messages_total         counter, bodies downloaded
//	mtm_snapshot_fetched_bytes_total            counter
//	mtm_snapshot_new_blobs_total                counter, messages stored that were not stored yet
//	mtm_snapshot_new_blob_bytes_total           counter, their compressed size
//	mtm_night_last_finished_timestamp_seconds   gauge, end of the last night that ran
//	mtm_night_duration_seconds                  gauge, how long it took
//	mtm_night_failed_accounts                   gauge, accounts still failing at its end
//	mtm_night_errors_total{stage}               counter, stage night|prune
//	mtm_restores_total{outcome}                 counter, outcome done|failed|rejected
//	mtm_http_request_duration_seconds{method,route,code}  histogram
//
// Metrics scraped from the catalog are read when Prometheus asks:
//
//	mtm_outbox_backlog                          gauge, mails still to send (pending + sending)
//	mtm_outbox_failed                           gauge, mails given up on, waiting for an admin
//	mtm_outbox_oldest_undelivered_timestamp_seconds  gauge, 0 when none
//	mtm_accounts, mtm_accounts_failing          gauges
//	mtm_backup_messages, mtm_backup_bytes       gauges, totals of every account's last good snapshot
//	mtm_backup_oldest_success_timestamp_seconds gauge, the stalest account's last good snapshot
//	mtm_store_blobs                             gauge, distinct messages stored
//
// The store's gauges cost a scan of the catalog, so they are computed at
// most once per Options.StoreEvery and cached. The Go runtime and process
// collectors (go_*, process_*) are registered too.
//
// No label holds an account address, a message id or a raw URL path: the
// HTTP route label is the ServeMux pattern ("GET /api/messages/{id}"), so
// the number of series stays bounded and nothing personal leaks to the
// monitoring system.
package metrics
