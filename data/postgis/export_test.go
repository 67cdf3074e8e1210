package postgis

import "time"

// SetListenTimings shortens how long s.Listen waits in silence before it
// checks its connection, and how long it gives the check. Call it before
// Listen.
func SetListenTimings(s *Store, idle, ping time.Duration) {
	s.listenIdle, s.listenPing = idle, ping
}
