package notify

import "time"

// FolderCount is a number of messages in one folder.
type FolderCount struct {
	Folder   string // UTF-8 folder name, as the webmail shows it
	Messages int
}

// RestoreRequested is the email to each admin responsible for the
// account's domain when a user asks for a restore.
type RestoreRequested struct {
	ID       int64  // restore request id; the link is base_url/admin/restores/ID
	Account  string // the account's address
	Day      string // YYYY-MM-DD of the snapshot to restore
	Folders  []string
	Selected int // messages selected one by one; 0: by folders
	// Sample names the first of the selected messages (at most 10).
	Sample      []SampleMessage
	Target      string // "original" or "separate"
	RequestedBy string // who asked (the account itself, usually)
	RequestedAt time.Time
	// Preview counts, per folder, the messages of the backup that are no
	// longer in the live mailbox: what the restore would bring back.
	Preview []FolderCount
}

// SampleMessage names one message of a selection.
type SampleMessage struct {
	Subject string
	From    string
}

// ToUser addresses an email to a user: in their language, and a reply
// reaching the admins responsible for their account.
type ToUser struct {
	Lang    string   // the user's language ("en", "it"); "": the configured default
	ReplyTo []string // the admins responsible for the account; none: no Reply-To
}

// RestoreReceived is the user's receipt of a restore request.
type RestoreReceived struct {
	ToUser
	ID       int64
	Account  string
	Day      string
	Folders  []string // empty: the whole account, or a selection
	Selected int      // messages selected one by one
	Target   string   // "original" or "separate"
	Preview  []FolderCount
}

// RestoreDone is the email to the user when a restore has finished.
type RestoreDone struct {
	ToUser
	ID      int64
	Account string
	Day     string
	Target  string // "original" or "separate"
	// TargetFolder is the folder messages went to when Target is
	// "separate" (Restored/YYYY-MM-DD).
	TargetFolder string
	Restored     []FolderCount // messages put back, per folder
	Created      []string      // folders recreated
	Skipped      int           // messages not restored because they are still present
}

// RestoreFailed is the email to the user when a restore stopped on an
// error. What was restored before the error stays restored.
type RestoreFailed struct {
	ToUser
	ID       int64
	Account  string
	Day      string
	Error    string        // what happened, for a person to read
	Restored []FolderCount // what was done before the error
	Created  []string
	Skipped  int
}

// RestoreRejected is the email to the user when an admin declined the
// request.
type RestoreRejected struct {
	ToUser
	ID      int64
	Account string
	Day     string
	Reason  string // the admin's reason, may be empty or several lines
}

// NightFailure is one failed nightly snapshot of an account.
type NightFailure struct {
	Day   string // YYYY-MM-DD of the night
	At    time.Time
	Error string
}

// AccountFailing is the email to a domain's admins when an account's
// snapshot has failed on two consecutive nights (scheduler.Notifier: once
// per failure streak).
type AccountFailing struct {
	Account string
	// Previous is the streak's first failed night, Latest its latest (the
	// next night, unless an earlier alert could not be queued).
	Previous NightFailure
	Latest   NightFailure
	// LastGood is the time of the last committed snapshot; zero if the
	// account never had one. LastGoodDay is its day.
	LastGood    time.Time
	LastGoodDay string
}

// MassDeletion is the email to a user (and, with [alerts]
// mass_deletion_admins, to the admins of the account's domain) when many
// messages, or a folder that held messages, vanished from the mailbox
// between two nightly snapshots.
type MassDeletion struct {
	ToUser      // the user's part
	Account     string
	Night       string // YYYY-MM-DD of the night that saw it
	PreviousDay string // the earlier snapshot's day, which still has the messages
	Day         string // the later snapshot's day
	// From and To are the two snapshots' ids: the link opens the
	// webmail's Changes view between them.
	From, To int64
	Vanished int // messages that are in no folder any more
	Before   int // messages of the earlier snapshot
	// Folders counts, per folder, the messages that vanished from it.
	Folders []FolderCount
	// DeletedFolders are the folders deleted, with the messages they held.
	DeletedFolders []FolderCount
	// ForAdmin: the email goes to an admin of the domain, not the user.
	ForAdmin bool
}

// NightLate is the email to the operators when the night's snapshots are
// projected to end after snapshot_at + night_window.
type NightLate struct {
	Night        string
	Done, Jobs   int       // snapshot jobs finished, and in all
	ProjectedEnd time.Time // at the rate so far
	WindowEnd    time.Time
	NodesAlive   int
}

// JobsFailed is the email to the operators about the jobs that failed
// for good (their last attempt failed) in one quarter of an hour.
type JobsFailed struct {
	From, To time.Time   // the quarter of an hour
	Jobs     []FailedJob // the first of them
	More     int         // how many more failed
}

// FailedJob is one job that failed for good.
type FailedJob struct {
	ID       int64
	Kind     string
	Args     string // its arguments, as JSON
	Attempts int
	Error    string // the last attempt's
}

// total adds the messages of counts.
func total(counts []FolderCount) int {
	n := 0
	for _, c := range counts {
		n += c.Messages
	}
	return n
}
