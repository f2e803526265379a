package sqlite

import "github.com/letterbox/letterbox/internal/store/blobfs"

// FS is the durability seam for blob files (see blobfs.FS): every call that
// decides whether a delivered body survives a crash goes through it.
type FS = blobfs.FS

// File is a blob file being written.
type File = blobfs.File

// OSFS is FS on the operating system's file system.
type OSFS = blobfs.OSFS
