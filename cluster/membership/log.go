package membership

import (
	"bytes"
	"context"
	"log"
	"log/slog"
)

// slogWriter forwards memberlist's log.Logger lines ("[LEVEL] memberlist:
// text") to slog at debug level: memberlist is chatty about routine probe
// failures, and the provider logs the membership changes that matter itself.
type slogWriter struct {
	logger *slog.Logger
}

func newStdLogger(l *slog.Logger) *log.Logger {
	return log.New(slogWriter{logger: l}, "", 0)
}

func (w slogWriter) Write(p []byte) (int, error) {
	if !w.logger.Enabled(context.Background(), slog.LevelDebug) {
		return len(p), nil
	}
	line := bytes.TrimSpace(p)
	level := ""
	if len(line) > 0 && line[0] == '[' {
		if end := bytes.IndexByte(line, ']'); end > 0 {
			level = string(line[1:end])
			line = bytes.TrimSpace(line[end+1:])
		}
	}
	line = bytes.TrimPrefix(line, []byte("memberlist: "))
	w.logger.Debug(string(line), slog.String("source", "memberlist"), slog.String("ml_level", level))
	return len(p), nil
}
