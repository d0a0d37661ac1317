package export

import (
	"encoding/json"
	"time"

	"github.com/switchboard-im/switchboard/storage"
)

func encodeMessage(m storage.Message) ([]byte, error) { return encodeJSON(NewMessageRecord(m)) }

func encodeJSON(v any) ([]byte, error) { return json.Marshal(v) }

func millis(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixMilli()
}
