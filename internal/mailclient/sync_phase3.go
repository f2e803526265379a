package mailclient

import (
	"fmt"
	"strconv"
	"strings"
)

// phase3 uploads the local files no server message turned out to be
// (APPEND, RFC 3501 §6.3.11) with their flags; APPENDUID (RFC 4315 §3)
// gives their UIDs. Without UIDPLUS the next sync links them by
// fingerprint, as after an interrupted sync.
func (r *syncRun) phase3(f *folderSync) error {
	for _, base := range sortedKeys(f.untracked) {
		path := f.idx[base]
		data, err := crlfFile(path)
		if err != nil {
			return err
		}
		letters := fileLetters(path)
		var flags string
		if letters != "" {
			flags = "(" + strings.Join(imapFlags(letters), " ") + ") "
		}
		ok, err := r.c.run("APPEND "+r.c.quoteMailbox(f.name)+" "+flags+"\x00", nil, wireLiteral(data))
		if err != nil {
			return fmt.Errorf("append to %s: %w", f.name, err)
		}
		f.rep.Appended++
		delete(f.untracked, base)
		code, arg, _ := strings.Cut(ok.Code, " ")
		if !strings.EqualFold(code, "APPENDUID") {
			continue
		}
		uvs, uids, _ := strings.Cut(arg, " ")
		uv, err1 := strconv.ParseUint(uvs, 10, 32)
		uid, err2 := strconv.ParseUint(uids, 10, 32)
		if err1 != nil || err2 != nil || uint32(uv) != f.st.UIDValidity {
			continue
		}
		f.st.Messages = append(f.st.Messages, syncEntry{UID: uint32(uid), File: base, Flags: letters})
		if err := f.saveSometimes(false); err != nil {
			return err
		}
	}
	return f.save()
}
