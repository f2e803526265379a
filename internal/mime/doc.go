// Package mime is letterbox's tolerant parser for Internet messages
// (RFC 5322) and MIME (RFC 2045, 2046, 2047, 2231).
//
// The store calls Parse once, at delivery, and keeps the result of
// (*Part).Encode next to the message. IMAP answers ENVELOPE, BODYSTRUCTURE
// and BODY[section] from the decoded Part without reading the message again;
// only the byte ranges it names are read from the blob.
//
// # Tolerance
//
// Parse never fails on content: malformed header fields, a missing or
// unterminated boundary, bad charsets, 8-bit junk, bare LF line endings and
// huge lines all give a best-effort tree. Only I/O errors from the reader are
// returned. Nesting deeper than MaxDepth is not descended into: the part is
// kept with its type and its body treated as opaque. After MaxParts
// entities the same holds, and further body parts of a multipart are
// skipped (their octets belong to no part).
//
// # Offsets
//
// Every Part carries absolute byte offsets in the whole message:
// the header is [HeaderStart, BodyStart) and includes the blank line that ends
// it; the body is [BodyStart, End). As RFC 2046 §5.1.1 says, the line break
// before a boundary delimiter belongs to the delimiter, so it is not part of
// the preceding body. For message/rfc822 parts, Message is the embedded
// message; its offsets are absolute too, and it spans exactly the body of the
// message/rfc822 part.
//
// # Invariants the IMAP renderer can rely on
//
//   - Type and Subtype are lower-case and never empty (default text/plain, or
//     message/rfc822 inside multipart/digest, RFC 2046 §5.1.5).
//   - A text/* part without a charset parameter gets charset=us-ascii
//     appended (RFC 2045 §5.2), as Dovecot shows it.
//   - Type, subtype, parameter names and the disposition type are
//     lower-cased (Dovecot shows them as written; IMAP clients compare them
//     case-insensitively).
//   - A multipart part always has at least one child: when no boundary is
//     found (no boundary parameter, the boundary never occurs, or MaxDepth is
//     reached) one text/plain child with an empty header spans the whole body.
//   - A message/rfc822 part always has Message and Message.Envelope.
//   - The root part always has Envelope.
//   - Encoding is upper-case ("7BIT" when absent).
//
// # Envelope
//
// Envelope values are the raw header values, unfolded (line breaks removed)
// and trimmed, not RFC 2047 decoded, as RFC 3501 §7.4.2 wants. Sender and
// ReplyTo are already defaulted to From when their header is absent or empty.
// An empty string means NIL: a header that is present but empty is NIL too
// (Dovecot sends "" for it).
// Address lists follow the RFC 3501 group representation, see Address.
//
// # API by use
//
//   - Delivery (store): Parse / ParseBytes, then (*Part).Encode; Decode
//     when reading it back (a few microseconds; see bench_test.go).
//   - FETCH ENVELOPE / BODYSTRUCTURE: the decoded root's Envelope and tree.
//   - FETCH BODY[section]: (*Part).Find for part numbers (RFC 3501 §6.4.5),
//     BodyRange, HeaderRange, TextRange, MIMERange for the byte ranges, and
//     FilterHeader for HEADER.FIELDS (.NOT).
//   - FETCH BINARY[section] (RFC 3516): BinarySection, BinarySize,
//     ErrUnknownCTE; NewDecoder for any Content-Transfer-Encoding.
//   - SEARCH: HeaderFields / Header and DecodeHeader for header keys;
//     BodyText (streaming) or TextContains for BODY and TEXT; ContainsFold.
//   - Other: ParseAddressList, ParamValue (RFC 2231 decoding),
//     (*Part).Filename, (*Part).Charset, (*Part).Walk.
package mime
