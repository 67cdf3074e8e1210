package main

import (
	"errors"
	"log/slog"
	"net"
	"net/http"
	"time"
)

// listenMetrics serves h at GET /metrics on addr, without authentication,
// for a Prometheus on an internal network (serve --metrics-addr); close
// stops it. The API's own GET /metrics needs an admin key.
func listenMetrics(addr string, h http.Handler, log *slog.Logger) (close func(), err error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, err
	}
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", h)
	hs := &http.Server{
		Handler:           mux,
		ReadHeaderTimeout: 5 * time.Second,
		WriteTimeout:      30 * time.Second,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	go func() {
		if err := hs.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
			log.Error("metrics listener stopped", "err", err)
		}
	}()
	log.Info("serving metrics", "addr", ln.Addr().String())
	return func() { hs.Close() }, nil
}
