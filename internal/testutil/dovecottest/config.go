package dovecottest

import (
	"strings"
	"text/template"
)

// configTemplate is the Dovecot 2.3 configuration. Plaintext login is
// allowed (loopback only, as letterbox allows there); the stats sockets are
// world-writable so the unprivileged processes can report to them.
var configTemplate = template.Must(template.New("dovecot.conf").Parse(`# letterbox: throwaway Dovecot configuration
base_dir = {{.Dir}}/run
state_dir = {{.Dir}}/state
log_path = {{.Dir}}/dovecot.log
info_log_path = {{.Dir}}/dovecot.log
protocols = imap pop3{{if .LMTP}} lmtp{{end}}
listen = 127.0.0.1
{{- if .TLS}}
ssl = yes
ssl_cert = <{{.Dir}}/cert.pem
ssl_key = <{{.Dir}}/key.pem
{{- else}}
ssl = no
{{- end}}
disable_plaintext_auth = no
auth_mechanisms = plain login
auth_failure_delay = 0
default_login_user = {{.LoginUser}}
default_internal_user = {{.InternalUser}}
first_valid_uid = {{.UID}}
last_valid_uid = {{.UID}}
first_valid_gid = {{.GID}}
mail_location = maildir:{{.Dir}}/mail/%u
postmaster_address = postmaster@example.com
passdb {
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {{.Dir}}/passwd
}
userdb {
  driver = static
  args = uid={{.UID}} gid={{.GID}} home={{.Dir}}/home/%u
}
service imap-login {
  inet_listener imap {
    address = 127.0.0.1
    port = {{.IMAP}}
  }
  inet_listener imaps {
{{- if .TLS}}
    address = 127.0.0.1
    port = {{.IMAPS}}
    ssl = yes
{{- else}}
    port = 0
{{- end}}
  }
}
service pop3-login {
  inet_listener pop3 {
    address = 127.0.0.1
    port = {{.POP3}}
  }
  inet_listener pop3s {
{{- if .TLS}}
    address = 127.0.0.1
    port = {{.POP3S}}
    ssl = yes
{{- else}}
    port = 0
{{- end}}
  }
}
{{- if .LMTP}}
service lmtp {
  inet_listener lmtp {
    address = 127.0.0.1
    port = {{.LMTPPort}}
  }
  unix_listener lmtp {
    mode = 0600
  }
}
protocol lmtp {
  mail_plugins =
}
{{- end}}
service stats {
  unix_listener stats-reader {
    mode = 0666
  }
  unix_listener stats-writer {
    mode = 0666
  }
}
{{.Extra}}
`))

// configVars fills configTemplate. A port of 0 disables its listener.
type configVars struct {
	Dir                      string
	LoginUser, InternalUser  string
	UID, GID                 int
	TLS, LMTP                bool
	IMAP, IMAPS, POP3, POP3S int
	LMTPPort                 int
	Extra                    string
}

func renderConfig(v configVars) (string, error) {
	var b strings.Builder
	err := configTemplate.Execute(&b, v)
	return b.String(), err
}
