// Package storetest is the conformance suite every store driver passes:
//
//	func TestConformance(t *testing.T) {
//		storetest.Run(t, func(t *testing.T) store.Store { ... a fresh, empty store ... })
//	}
//
// open must return a new empty store for each call and arrange its Close
// (t.Cleanup).
//
// Definition used throughout: a "change" is one message appended (delivery,
// copy or move destination), one message whose flags changed, or one message
// expunged. Each change takes its own new MODSEQ in its mailbox, so
// HIGHESTMODSEQ rises by exactly the number of changes (RFC 7162 §3.1 allows
// this; it also allows sharing one MODSEQ per command, which this suite does
// not).
package storetest

import (
	"testing"

	"github.com/letterbox/letterbox/internal/store"
)

// Test is one conformance check.
type Test struct {
	Name string
	Fn   func(t *testing.T, s store.Store)
}

// Tests is the whole suite, in the order Run runs it.
var Tests = []Test{
	{"Accounts", testAccounts},
	{"DefaultMailboxes", testDefaultMailboxes},
	{"MailboxCreateDelete", testMailboxCreateDelete},
	{"MailboxNameValidation", testMailboxNameValidation},
	{"MailboxRename", testMailboxRename},
	{"MailboxRenameInbox", testMailboxRenameInbox},
	{"MailboxSubscribe", testMailboxSubscribe},
	{"SubscriptionsApartFromMailboxes", testSubscriptionsApartFromMailboxes},
	{"DeliverReadBack", testDeliverReadBack},
	{"DeliverDedupe", testDeliverDedupe},
	{"DeliverVerbatim", testDeliverVerbatim},
	{"DeliverPerTargetErrors", testDeliverPerTargetErrors},
	{"DeliverKeepsDateAndFlags", testDeliverKeepsDateAndFlags},
	{"AppendBatch", testAppendBatch},
	{"AppendBatchAllOrNothing", testAppendBatchAllOrNothing},
	{"AppendBatchNeverPartial", testAppendBatchNeverPartial},
	{"AccessKeys", testAccessKeys},
	{"Details", testDetails},
	{"Status", testStatus},
	{"Flags", testFlags},
	{"UnchangedSince", testUnchangedSince},
	{"ExpungeTombstones", testExpungeTombstones},
	{"HighestModSeq", testHighestModSeq},
	{"PinHoldsExpunged", testPinHoldsExpunged},
	{"PinHoldsMovedAndDeleted", testPinHoldsMovedAndDeleted},
	{"RedeliverWhileCollecting", testRedeliverWhileCollecting},
	{"ClaimRecentOnce", testClaimRecentOnce},
	{"RecentFrom", testRecentFrom},
	{"RecentMarks", testRecentMarks}, // recentfrom.go
	{"CopyMove", testCopyMove},
	{"DeletedMailboxHandle", testDeletedMailboxHandle},
	{"ChangeFeed", testChangeFeed},
	{"ChangesSeeReturnedWrites", testChangesSeeReturnedWrites},
	{"MetadataSetGet", testMetadataSetGet},
	{"MetadataLimits", testMetadataLimits},
	{"MetadataLimitsConcurrent", testMetadataLimitsConcurrent},
	{"MetadataFollowsMailbox", testMetadataFollowsMailbox},
	{"MetadataFeed", testMetadataFeed},
	{"LoginHistory", testLoginHistory},
	{"QuotaUsage", testQuotaUsage},
	{"QuotaEnforced", testQuotaEnforced},
	{"QuotaConcurrentDeliveries", testQuotaConcurrentDeliveries},
	{"QuotaAppendBatch", testQuotaAppendBatch},
	{"ObjectIDs", testObjectIDs},
	{"TombstoneObjects", testTombstoneObjects},
	{"MailboxObjectIDs", testMailboxObjectIDs},
	{"Previews", testPreviews},
	{"ACLSetGet", testACLSetGet},
	{"ACLSharedWith", testACLSharedWith},
	{"ACLFollowsMailbox", testACLFollowsMailbox},
	{"Importer", testImporter},
	{"Aliases", testAliases},
	{"QueueEnqueue", testQueueEnqueue},
	{"QueueClaim", testQueueClaim},
	{"QueueUpdate", testQueueUpdate},
	{"QueueDSN", testQueueDSN},
	{"Tokens", testTokens}, // tokens.go
	{"Concurrency", func(t *testing.T, s store.Store) { CheckConcurrency(t, s) }},
}

// Run runs every test of the suite on a fresh store from open.
func Run(t *testing.T, open func(t *testing.T) store.Store) {
	for _, tc := range Tests {
		t.Run(tc.Name, func(t *testing.T) {
			tc.Fn(t, open(t))
		})
	}
}
