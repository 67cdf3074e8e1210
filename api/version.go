package api

import (
	"context"
	"net/http"
	"strconv"
	"time"

	"github.com/wangge/wangge/data"
)

// Read-your-writes across replicas. Every write answers with the version
// (the store's change-feed sequence) at which this replica's views show
// it, in the Wangge-Version header. A client that sends that number back
// in Wangge-Min-Version, to this or any other replica, gets an answer at
// least that new: the replica waits up to minVersionWait for its views to
// get there, then answers 503 with Retry-After.
const (
	versionHeader    = "Wangge-Version"
	minVersionHeader = "Wangge-Min-Version"
	minVersionWait   = time.Second
)

// atLeast makes the request wait for the version it names; it reports
// whether the request may go on, having answered it otherwise.
func (s *Server) atLeast(w http.ResponseWriter, r *http.Request, header string) bool {
	want, err := strconv.ParseInt(header, 10, 64)
	if err != nil || want < 0 {
		writeProblem(w, r, http.StatusBadRequest, minVersionHeader+" must be a version number from a "+versionHeader+" header, got "+strconv.Quote(header))
		return false
	}
	ctx, cancel := context.WithTimeout(r.Context(), minVersionWait)
	defer cancel()
	err = s.live.WaitForClient(ctx, want)
	if data.ErrorCode(err) == data.EINVALID {
		writeProblem(w, r, http.StatusBadRequest, minVersionHeader+": "+data.ErrorMessage(err))
		return false
	}
	if err != nil {
		w.Header().Set("Retry-After", "1")
		w.Header().Set(versionHeader, strconv.FormatInt(s.live.Version(), 10))
		writeProblem(w, r, http.StatusServiceUnavailable, "this replica's data is at version "+strconv.FormatInt(s.live.Version(), 10)+
			", older than "+minVersionHeader+" "+header+"; retry shortly")
		return false
	}
	w.Header().Set(versionHeader, strconv.FormatInt(s.live.Version(), 10))
	return true
}
