package api

import (
	"context"
	"errors"
	"net/http"
	"strconv"

	"github.com/wangge/wangge/data"
)

// handlerFunc is an HTTP handler that returns its error instead of writing
// it, so that every error response is written by one function.
type handlerFunc func(w http.ResponseWriter, r *http.Request) error

// statusOf maps an error code to an HTTP status: the one place that does.
func statusOf(code string) int {
	switch code {
	case data.EINVALID:
		return http.StatusBadRequest
	case data.ENOTFOUND:
		return http.StatusNotFound
	case data.ECONFLICT:
		return http.StatusConflict
	case data.EPRECONDITION:
		return http.StatusPreconditionFailed
	case data.EFORBIDDEN:
		return http.StatusForbidden
	case data.EUNAVAILABLE:
		return http.StatusServiceUnavailable
	}
	return http.StatusInternalServerError
}

// writeError writes err as problem+json. Internal errors are logged with
// their cause and shown to the client only as "internal error": no SQL, no
// stack, no file paths leave the server.
func (s *Server) writeError(w http.ResponseWriter, r *http.Request, err error) {
	if r.Context().Err() != nil {
		// The client went away, or the server is stopping: whatever failed
		// after that (a cancelled query, a commit of a transaction
		// database/sql already rolled back) is not the client's fault. A
		// client still there gets 503 rather than Go's implicit empty 200;
		// one that left reads nothing, and writing costs nothing.
		s.log.DebugContext(r.Context(), "request cancelled", "method", r.Method, "path", r.URL.Path, "err", err)
		if sr, ok := w.(*statusRecorder); !ok || !sr.wrote {
			w.Header().Set("Retry-After", "1")
			writeProblem(w, r, http.StatusServiceUnavailable, "the request was cancelled before it was done; retry")
		}
		return
	}
	if sr, ok := w.(*statusRecorder); ok && sr.wrote {
		// The answer had begun (a broken pipe mid-body): too late for a
		// problem document.
		s.log.WarnContext(r.Context(), "response cut short", "method", r.Method, "path", r.URL.Path, "err", err)
		return
	}
	var ae *authError
	if errors.As(err, &ae) {
		if ae.status == http.StatusUnauthorized {
			w.Header().Set("WWW-Authenticate", `Bearer realm="wangge"`)
		}
		writeProblem(w, r, ae.status, ae.msg)
		return
	}
	var rl *rateLimited
	if errors.As(err, &rl) {
		w.Header().Set("Retry-After", strconv.Itoa(int(rl.retryAfter.Seconds())+1))
		writeProblem(w, r, http.StatusTooManyRequests, rl.Error())
		return
	}
	var ro errReadOnly
	if errors.As(err, &ro) {
		w.Header().Set("Allow", "GET, HEAD")
		writeProblem(w, r, http.StatusMethodNotAllowed, ro.Error())
		return
	}
	var na *notAcceptable
	if errors.As(err, &na) {
		writeProblem(w, r, http.StatusNotAcceptable, na.msg)
		return
	}
	var busy *tooBusy
	if errors.As(err, &busy) {
		w.Header().Set("Retry-After", strconv.Itoa(busy.retryAfter))
		writeProblem(w, r, http.StatusTooManyRequests, busy.Error())
		return
	}
	code := data.ErrorCode(err)
	if errors.Is(err, context.DeadlineExceeded) {
		code = data.EUNAVAILABLE
		err = data.Wrap(code, err, "the request took too long; retry later")
	}
	status := statusOf(code)
	if status >= 500 {
		s.log.ErrorContext(r.Context(), "request failed", "method", r.Method, "path", r.URL.Path, "err", err)
	}
	if status == http.StatusServiceUnavailable {
		w.Header().Set("Retry-After", "5")
	}
	writeProblem(w, r, status, data.ErrorMessage(err))
}

// handle adapts a handlerFunc to http.Handler.
func (s *Server) handle(h handlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !checkBody(w, r) {
			return
		}
		var err error
		if (r.Method == http.MethodPost || r.Method == http.MethodPatch) && r.Header.Get(headerIdempotencyKey) != "" {
			err = s.idempotent(w, r, h)
		} else {
			err = h(w, r)
		}
		if err != nil {
			s.writeError(w, r, err)
		}
	})
}

// invalid is shorthand for the caller's mistakes.
func invalid(format string, args ...any) error { return data.Errorf(data.EINVALID, format, args...) }
