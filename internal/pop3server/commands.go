package pop3server

// command is one POP3 command: its handler and the states it is valid in.
type command struct {
	states []state
	run    func(s *session, args string) error
}

func (c command) validIn(st state) bool {
	for _, v := range c.states {
		if v == st {
			return true
		}
	}
	return false
}

var (
	authorization = []state{stateAuthorization}
	transaction   = []state{stateTransaction}
	anyState      = []state{stateAuthorization, stateTransaction}
)

// commands is the dispatch table, keyed by upper-case keyword
// (RFC 1939 §3: keywords are case-insensitive).
var commands map[string]command

func init() {
	commands = map[string]command{
		// RFC 1939 §4, §7 and RFC 2449, 2595, 5034, 6856.
		"USER": {authorization, (*session).cmdUser},
		"PASS": {authorization, (*session).cmdPass},
		"AUTH": {authorization, (*session).cmdAuth},
		"STLS": {authorization, (*session).cmdSTLS},
		"UTF8": {authorization, (*session).cmdUTF8},
		"CAPA": {anyState, (*session).cmdCapa},
		"QUIT": {anyState, (*session).cmdQuit},
		// RFC 1939 §5, §7.
		"STAT": {transaction, (*session).cmdStat},
		"LIST": {transaction, (*session).cmdList},
		"UIDL": {transaction, (*session).cmdUidl},
		"RETR": {transaction, (*session).cmdRetr},
		"TOP":  {transaction, (*session).cmdTop},
		"DELE": {transaction, (*session).cmdDele},
		"RSET": {transaction, (*session).cmdRset},
		"NOOP": {transaction, (*session).cmdNoop},
	}
}
