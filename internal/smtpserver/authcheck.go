package smtpserver

import (
	"io"
	"log/slog"
	"os"

	"github.com/emersion/go-smtp"

	"github.com/letterbox/letterbox/internal/msgauth"
)

// errDMARCReject refuses a message its From domain's DMARC policy says to
// reject (RFC 7489 §6.7, §10.3 suggests 5.7.1).
var errDMARCReject = &smtp.SMTPError{Code: 550, EnhancedCode: smtp.EnhancedCode{5, 7, 1},
	Message: "Message rejected by the DMARC policy of its From domain"}

// checkAuth spools the client's data to a temporary file, runs the SPF,
// DKIM and DMARC checks (internal/msgauth) and returns the message to
// store (without Authentication-Results fields forged with our name,
// RFC 8601 §5), our Authentication-Results field, and a cleanup; or a
// reply refusing the message.
func (s *session) checkAuth(tx transaction, body *countingReader, log *slog.Logger) (io.Reader, []byte, func(), error) {
	opts := s.srv.opts
	f, err := os.CreateTemp(opts.SpoolDir, "letterbox-check-*")
	if err != nil {
		io.Copy(io.Discard, body)
		log.Error("spooling for authentication checks", "err", err)
		return nil, nil, nil, errTempFailure
	}
	done := func() {
		f.Close()
		os.Remove(f.Name())
	}
	n, err := io.Copy(f, body)
	if body.err != nil {
		done()
		reply := readReply(body.err)
		log.Info("message not received", "size", body.n, "err", body.err, "reply", reply.Code)
		return nil, nil, nil, reply
	}
	if err != nil {
		done()
		log.Error("spooling for authentication checks", "err", err)
		return nil, nil, nil, errTempFailure
	}
	open := func() io.Reader { return io.NewSectionReader(f, 0, n) }
	v := opts.AuthCheck.CheckReader(s.ctx, s.remote, tx.helo, tx.from, open)
	ar := opts.AuthCheck.Header(v)
	log.Info("authentication checks", "spf", v.SPF, "dmarc", v.DMARC, "from_domain", v.FromDomain, "policy", v.Policy)
	if v.Reject() && opts.DMARCReject {
		done()
		return nil, nil, nil, errDMARCReject
	}
	return msgauth.StripForged(open(), opts.AuthCheck.Hostname), ar, done, nil
}
