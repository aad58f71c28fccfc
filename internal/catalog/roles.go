package catalog

import (
	"context"
	"database/sql"
	"encoding/json"
	"time"
)

// The catalog's roles. Each method of the catalog belongs to exactly one
// role, and every part of mtm asks for the roles (or a subset of one) that
// it uses. A back-end of the catalog implements Catalog, all roles, and
// passes the contract suite in package catalogtest; DB (SQLite) is the
// first. docs/design.md, "The catalog's roles", says what each role owns.

// Accounts names the accounts.
type Accounts interface {
	// Account returns the id of the account with this address, creating it.
	Account(ctx context.Context, address string) (AccountID, error)
	// LookupAccount returns the id of an existing account, or ErrNotFound.
	LookupAccount(ctx context.Context, address string) (AccountID, error)
}

// Settings keeps what each user chose for their own account.
type Settings interface {
	AccountSettings(ctx context.Context, acct AccountID) (AccountSettings, error)
	SetAccountSettings(ctx context.Context, acct AccountID, s AccountSettings) error
}

// SnapshotWriter is how the snapshot engine writes: one Run per account and
// snapshot, staging batch by batch, committed in one transaction.
type SnapshotWriter interface {
	Accounts
	AccountState(ctx context.Context, address string) (AccountState, error)
	QuickCommit(ctx context.Context, acct AccountID, basedOn SnapshotID, takenAt time.Time) (Snapshot, error)
	BeginSnapshot(ctx context.Context, acct AccountID) (*Run, error)
}

// Browsing reads the snapshots and their views: the webmail, exports,
// restores and the commands that list snapshots.
type Browsing interface {
	SnapshotFinder
	Snapshot(ctx context.Context, id SnapshotID) (Snapshot, error)
	Snapshots(ctx context.Context, acct AccountID) ([]Snapshot, error)
	Folders(ctx context.Context, s Snapshot) ([]Folder, error)
	// Messages lists a folder without the summary; MessagesByID has it.
	Messages(ctx context.Context, s Snapshot, mailboxID int64, fn func(Message) error) error
	MessageOrder(ctx context.Context, s Snapshot, mailboxID int64, sort Sort) ([]int64, error)
	Search(ctx context.Context, s Snapshot, mailboxID int64, query string, sort Sort, max int) ([]int64, bool, error)
	SearchDays(ctx context.Context, acct AccountID, query string, max int) ([]DayHit, bool, error)
	IndexProgress(ctx context.Context, s Snapshot) (indexed, total int, err error)
	MessagesByID(ctx context.Context, s Snapshot, ids []int64) ([]Message, error)
	MessageInView(ctx context.Context, s Snapshot, id int64) (Message, error)
	Changes(ctx context.Context, from, to Snapshot) (Changes, error)
	Vanished(ctx context.Context, acct AccountID) (map[SnapshotID]int, error)
	EndedIn(ctx context.Context, s Snapshot) (messages, folders int, err error)
}

// Restores keeps the restore requests with their compare-and-set
// transitions, and what restores appended to the live accounts.
type Restores interface {
	RequestRestore(ctx context.Context, r RestoreRequest, more func(*sql.Tx, RestoreID) error) (RestoreID, error)
	Restore(ctx context.Context, id RestoreID) (RestoreRequest, error)
	Restores(ctx context.Context, acct AccountID, status string) ([]RestoreRequest, error)
	ConfirmRestore(ctx context.Context, id RestoreID, by string, more func(*sql.Tx) error) error
	RejectRestore(ctx context.Context, id RestoreID, by, reason string, more func(*sql.Tx) error) error
	FinishRestore(ctx context.Context, id RestoreID, result json.RawMessage, errText string, more func(*sql.Tx) error) error
	HeartbeatRestore(ctx context.Context, id RestoreID, progress json.RawMessage) error
	ClaimStaleRestores(ctx context.Context) ([]RestoreRequest, error)
	TakeRestore(ctx context.Context, id RestoreID) (RestoreRequest, error)
	KnownUIDs(ctx context.Context, acct AccountID, name string, uidvalidity uint32) (map[uint32]KnownMessage, error)
	RecordAppends(ctx context.Context, acct AccountID, appended []Appended) error
	RecentAppends(ctx context.Context, acct AccountID, since time.Time) (bool, error)
}

// Outbox holds the notification emails until they are delivered.
type Outbox interface {
	EnqueueMail(ctx context.Context, mails ...OutboxMail) (int, error)
	EnqueueMailTx(ctx context.Context, tx *sql.Tx, mails ...OutboxMail) (int, error)
	DueMail(ctx context.Context, now time.Time, limit int) ([]OutboxEntry, error)
	NextMailAt(ctx context.Context) (time.Time, bool, error)
	ClaimMail(ctx context.Context, id int64, leaseUntil time.Time) (bool, error)
	MarkMailDot(ctx context.Context, id int64) error
	MarkMailSent(ctx context.Context, id int64) error
	RetryMail(ctx context.Context, id int64, next time.Time, msg string, maybeSent bool) error
	FailMail(ctx context.Context, id int64, msg string) error
	DeferMail(ctx context.Context, id int64, next time.Time, msg string) error
	RequeueMail(ctx context.Context, id int64) error
	RecoverMail(ctx context.Context) (int, error)
	DeleteSentMail(ctx context.Context, before time.Time) (int, error)
	OutboxMail(ctx context.Context, id int64) (OutboxEntry, error)
	UndeliveredMail(ctx context.Context, limit int) ([]OutboxEntry, error)
	OutboxStats(ctx context.Context) (OutboxStats, error)
}

// AdminsAndAudit keeps the admin accounts and the audit log.
type AdminsAndAudit interface {
	AddAdmin(ctx context.Context, a AdminRow) error
	RemoveAdmin(ctx context.Context, email string) error
	Admin(ctx context.Context, email string) (AdminRow, error)
	Admins(ctx context.Context) ([]AdminRow, error)
	SetAdminLanguage(ctx context.Context, email, lang string) error
	// The second factor (docs/design.md, "Admins' second factor").
	SetAdminTOTP(ctx context.Context, email, secret string, step int64, recovery [][32]byte) error
	ResetAdminTOTP(ctx context.Context, email string) error
	UseTOTPStep(ctx context.Context, email string, step int64) (bool, error)
	UseRecoveryCode(ctx context.Context, email string, hash [32]byte) (bool, error)
	RecoveryCodesLeft(ctx context.Context, email string) (int, error)
	Audit(ctx context.Context, ev AuditEvent) error
	Auditing(ctx context.Context, ev AuditEvent) func(*sql.Tx) error
	AuditLog(ctx context.Context, domains []string, limit int) ([]AuditEvent, error)
	AuditSince(ctx context.Context, since, until time.Time, fn func(AuditEvent) error) error
}

// Maintenance is the upkeep around the snapshots: expiry and the garbage
// of prune, the checker's invariants, the nights and failure streaks of
// the scheduler with the backup status, and the search index.
type Maintenance interface {
	AllSnapshots(ctx context.Context) ([]SnapshotRef, error)
	PlanExpiry(ctx context.Context, drop []SnapshotID) (Expiry, error)
	Expire(ctx context.Context, drop []SnapshotID, appendsBefore time.Time) (Expiry, error)
	Garbage(ctx context.Context, fn func(Garbage) error) error
	Named(ctx context.Context, h [32]byte) (content, garbage bool, err error)
	LockBlobDeletion(ctx context.Context) (*BlobLock, error)
	Inconsistencies(ctx context.Context) ([]string, error)
	Contents(ctx context.Context, fn func(StoredContent) error) error
	RecordNight(ctx context.Context, address, night, failure string) (FailureStreak, error)
	MarkNotified(ctx context.Context, address, firstNight string) error
	FailureStreak(ctx context.Context, address string) (FailureStreak, error)
	BackupStatus(ctx context.Context) ([]AccountStatus, error)
	CountRows(ctx context.Context, table string) (int, error)
	Unindexed(ctx context.Context, after int64, limit int) ([]Unindexed, error)
	AddSearchDocs(ctx context.Context, docs []SearchDoc) error
	// AuditBefore and ExpireAudit count and delete the audit events
	// older than the audit retention.
	AuditBefore(ctx context.Context, t time.Time) (int64, error)
	ExpireAudit(ctx context.Context, t time.Time) (int64, error)
}

// BlobIndex is where the blobs of a store that keeps its objects
// elsewhere (S3) are: its packs and one row per blob, shared by every node.
type BlobIndex interface {
	NewBlobPack(ctx context.Context) (int64, error)
	CommitBlobs(ctx context.Context, pack, size int64, entries []BlobEntry) error
	LocateBlob(ctx context.Context, h [32]byte) (BlobEntry, error)
	LocateBlobs(ctx context.Context, hs [][32]byte) (map[[32]byte]BlobEntry, error)
	DeleteBlob(ctx context.Context, h [32]byte) (bool, error)
	ListBlobs(ctx context.Context, fn func(BlobEntry) error) error
	RetireBlobPacks(ctx context.Context, staleBefore time.Time) (int, error)
	RetiredBlobPacks(ctx context.Context, before time.Time) ([]int64, error)
	DropBlobPack(ctx context.Context, id int64) error
	BlobPacks(ctx context.Context, fn func(id int64, state string) error) error
	BlobPackUsage(ctx context.Context, fn func(id, size, live, entries int64) error) error
	PackBlobs(ctx context.Context, id int64) ([]BlobEntry, error)
	MoveBlobs(ctx context.Context, pack, size int64, moved []BlobEntry) error
}

// Nodes keeps the nodes of a cluster: each `mtm serve` registers itself
// and beats, so that another can tell when it died.
type Nodes interface {
	Owner() string
	RegisterNode(ctx context.Context, roles []string) error
	HeartbeatNode(ctx context.Context) error
	StopNode(ctx context.Context) error
	ForgetNode(ctx context.Context, id string) error
	Nodes(ctx context.Context) ([]Node, error)
}

// WebSessions keeps the sessions of the web interfaces and the counts of
// failed logins, shared by every web node.
type WebSessions interface {
	CreateSession(ctx context.Context, realm string, idHash [32]byte, account string, idleBefore time.Time) error
	Session(ctx context.Context, realm string, idHash [32]byte) (WebSession, error)
	TouchSession(ctx context.Context, realm string, idHash [32]byte) error
	DeleteSession(ctx context.Context, realm string, idHash [32]byte) error
	LoginWait(ctx context.Context, keys ...string) (time.Time, error)
	RecordLoginFailure(ctx context.Context, key string, forgetBefore time.Time, until func(failures int) time.Time) error
	ClearLoginFailures(ctx context.Context, key string) error
	// Secret returns a random key of size bytes, made once and then the
	// same on every node (the device cookies' signing key).
	Secret(ctx context.Context, name string, size int) ([]byte, error)
}

// IMAPSlots leases the connections a cluster may hold to a mail server.
type IMAPSlots interface {
	TakeIMAPSlot(ctx context.Context, server string, slots, first int, leaseUntil time.Time) (int, bool, error)
	RenewIMAPSlots(ctx context.Context, leaseUntil time.Time) error
	ReleaseIMAPSlot(ctx context.Context, server string, slot int) error
	FreeIMAPSlotsOf(ctx context.Context, node string) error
}

// Catalog is every role: what a back-end implements.
type Catalog interface {
	SnapshotWriter
	Settings
	Nodes
	WebSessions
	IMAPSlots
	Browsing
	Restores
	Outbox
	AdminsAndAudit
	Maintenance
	BlobIndex
	Close() error
}

var (
	_ Catalog  = (*DB)(nil)
	_ Browsing = (*Browser)(nil)
)
