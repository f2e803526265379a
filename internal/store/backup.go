package store

import "context"

// BackupStats describes a backup or a check.
type BackupStats struct {
	Messages int64 // message rows (live and expunged-but-held)
	Blobs    int64 // message bodies
	Bytes    int64 // octets of the bodies
}

// Backuper is the optional capability of a store that copies itself,
// consistently, while it serves (`letterbox backup`): the copy is the
// store as of one moment, every body of every row included.
type Backuper interface {
	// Backup writes the copy into dir, which must not exist yet.
	Backup(ctx context.Context, dir string) (BackupStats, error)
}

// CheckReport is what Checker.Check found (`letterbox fsck`).
type CheckReport struct {
	BackupStats
	// Missing are bodies that rows refer to but whose content is gone;
	// Damaged ones have the wrong size or (when hashed) content.
	Missing, Damaged []string
	// Affected counts the messages whose body is missing or damaged.
	Affected int64
	// Orphans are stored contents no row refers to; Removed says how many
	// of them a repair removed.
	Orphans []string
	Removed int
}

// Checker is the optional capability of a store that checks its message
// contents against its rows and repairs what can be repaired without
// losing anything (orphaned contents).
type Checker interface {
	// Check compares; hash also re-reads every body against its content
	// address; repair removes orphans.
	Check(ctx context.Context, hash, repair bool) (CheckReport, error)
}
