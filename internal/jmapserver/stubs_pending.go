package jmapserver

type uploadStore struct{}

func newUploadStore(int64) *uploadStore { return &uploadStore{} }

type submissionLog struct{}

func newSubmissionLog() *submissionLog { return &submissionLog{} }

var emailSortOptions = []string{"receivedAt"}

func (s *submissionLog) state(string) string { return "s0" }

const identityState = "i0"
