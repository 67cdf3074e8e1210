package api

import (
	"bufio"
	"bytes"
	"encoding/json"
	"io"
	"net/http"
)

// streamBufferSize is the buffer between a streamed answer and the
// connection: what a client that does not read holds of the answer's
// bytes, besides the kernel's socket buffers and net/http's own 4 KiB.
const streamBufferSize = 32 << 10

// jsonStream writes one JSON document in pieces through a bounded buffer,
// encoding each value as writeJSON would (HTML not escaped). The first
// error sticks: once the client is gone every later write is a no-op,
// and err reports it.
type jsonStream struct {
	w   *bufio.Writer
	buf bytes.Buffer
	enc *json.Encoder
	err error
}

func newJSONStream(w io.Writer) *jsonStream {
	s := &jsonStream{w: bufio.NewWriterSize(w, streamBufferSize)}
	s.enc = json.NewEncoder(&s.buf)
	s.enc.SetEscapeHTML(false) // as writeJSON: links carry & and must stay readable
	return s
}

// raw writes literal JSON text.
func (s *jsonStream) raw(text string) {
	if s.err == nil {
		_, s.err = s.w.WriteString(text)
	}
}

// value writes v encoded, without the newline an Encoder ends it with.
func (s *jsonStream) value(v any) {
	if s.err != nil {
		return
	}
	s.buf.Reset()
	if s.err = s.enc.Encode(v); s.err != nil {
		return
	}
	b := s.buf.Bytes()
	_, s.err = s.w.Write(b[:len(b)-1])
	if s.buf.Cap() > streamBufferSize {
		// One huge feature (a polygon of many vertices) must not leave
		// its encoding behind for the rest of the answer.
		s.buf = bytes.Buffer{}
	}
}

// close writes what is buffered and reports the first error.
func (s *jsonStream) close() error {
	if s.err == nil {
		s.err = s.w.Flush()
	}
	return s.err
}

// abort closes the connection of an answer that cannot be finished, so
// that the client sees it cut short (a chunked body without its last
// chunk) rather than a whole answer of broken JSON. Where the connection
// cannot be taken over (HTTP/2, a test recorder) the answer just ends.
func abort(w http.ResponseWriter) {
	if conn, _, err := http.NewResponseController(w).Hijack(); err == nil {
		conn.Close()
	}
}
