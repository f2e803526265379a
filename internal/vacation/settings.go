// Package vacation is the autoresponder: an account's vacation reply
// (RFC 8621 §8 VacationResponse, served over JMAP) and the rules that
// decide when mail delivered to the account gets one (RFC 3834, and the
// Sieve vacation rules of RFC 5230 §4, which Dovecot's Pigeonhole follows).
//
// The settings and the list of senders already answered are kept as
// private server METADATA entries of the account (store.Metadata, RFC 5464
// names under /private/vendor/letterbox/), so both drivers keep them with
// no schema of their own and an IMAP client with METADATA can read them.
package vacation

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/letterbox/letterbox/internal/store"
)

// Entry names (RFC 5464 §3.2: vendor entries under /private/vendor/).
const (
	settingsEntry = "/private/vendor/letterbox/vacation"
	repliedEntry  = "/private/vendor/letterbox/vacation-replied"
)

// Settings is an account's VacationResponse (RFC 8621 §8). The JSON names
// are the JMAP property names.
type Settings struct {
	Enabled  bool       `json:"isEnabled"`
	FromDate *time.Time `json:"fromDate"`
	ToDate   *time.Time `json:"toDate"`
	Subject  *string    `json:"subject"`
	TextBody *string    `json:"textBody"`
	HTMLBody *string    `json:"htmlBody"`
}

// Active reports whether a reply goes out for mail arriving at now:
// enabled, and now within [FromDate, ToDate) where they are set
// (RFC 8621 §8.1).
func (s Settings) Active(now time.Time) bool {
	if !s.Enabled {
		return false
	}
	if s.FromDate != nil && now.Before(*s.FromDate) {
		return false
	}
	if s.ToDate != nil && !now.Before(*s.ToDate) {
		return false
	}
	return true
}

// ErrUnsupported: the store keeps no METADATA, so there is nowhere to keep
// vacation settings.
var ErrUnsupported = errors.New("vacation: the store keeps no metadata")

func metadataOf(st store.Store) (store.Metadata, error) {
	md, ok := st.(store.Metadata)
	if !ok {
		return nil, ErrUnsupported
	}
	return md, nil
}

// Load returns account's settings; an account that never set any has the
// zero Settings (disabled).
func Load(ctx context.Context, st store.Store, account string) (Settings, error) {
	var s Settings
	md, err := metadataOf(st)
	if err != nil {
		return s, err
	}
	ents, err := md.GetMetadata(ctx, account, store.ServerMetadata, []string{settingsEntry})
	if err != nil {
		return s, err
	}
	for _, e := range ents {
		if e.Name == settingsEntry {
			if err := json.Unmarshal(e.Value, &s); err != nil {
				return Settings{}, fmt.Errorf("vacation: settings of %s: %w", account, err)
			}
		}
	}
	return s, nil
}

// Save stores account's settings. It also forgets who was answered: new
// settings are a new reply, which every sender may get once (as Sieve
// tracks replies per :handle, RFC 5230 §4.2).
func Save(ctx context.Context, st store.Store, account string, s Settings) error {
	md, err := metadataOf(st)
	if err != nil {
		return err
	}
	b, err := json.Marshal(s)
	if err != nil {
		return err
	}
	return md.SetMetadata(ctx, account, store.ServerMetadata, []store.MetadataEntry{
		{Name: settingsEntry, Value: b},
		{Name: repliedEntry, Value: nil},
	}, store.MetadataLimits{})
}
