package admin

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"

	"github.com/switchboard-im/switchboard/actors"
)

// maxWordsBody fits two lists at their default limits (10,000 words of
// 128 bytes each).
const maxWordsBody = 4 << 20

func (s *Server) words(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, s.node.WordLists())
}

func (s *Server) setWords(w http.ResponseWriter, r *http.Request) {
	var l actors.WordLists
	b, err := io.ReadAll(io.LimitReader(r.Body, maxWordsBody+1))
	if err == nil && len(b) > maxWordsBody {
		err = fmt.Errorf("body over %d bytes", maxWordsBody)
	}
	if err == nil {
		err = json.Unmarshal(b, &l)
	}
	if err != nil {
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": "bad request body: " + err.Error()})
		return
	}
	ctx, cancel := deskCtx(r)
	defer cancel()
	out, err := s.node.SetWordLists(ctx, l)
	deskAnswer(w, out, err)
}
