// Package blobfs holds the driver-independent code for message bodies
// (blobs) that pass through the file system:
//
//   - FS, the durability seam (every call that decides whether a file
//     survives a crash), and OSFS, its real implementation;
//   - CRLFWriter, which normalises line endings to CRLF, hashes (SHA-256)
//     and enforces the size limit on the way through;
//   - Spool, which streams a body into a temp file through CRLFWriter and
//     returns its content address (the hex SHA-256 of the stored bytes);
//   - ValidID, Dir and Path: the content-addressed layout
//     <root>/<first two hex digits>/<remaining 62 hex digits>.
//
// The PostgreSQL driver spools incoming bodies here before copying them
// into the database; the SQLite driver's blob files follow the same rules.
package blobfs
