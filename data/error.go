package data

import (
	"errors"
	"fmt"
)

// Error codes. Every error that crosses a package boundary towards the HTTP
// layer or the CLI carries one, so that it can be mapped to a status or an
// exit code in one place.
const (
	EINVALID      = "invalid"             // the caller sent something wrong
	ENOTFOUND     = "not_found"           // no such thing
	ECONFLICT     = "conflict"            // duplicate id, stale state
	EPRECONDITION = "precondition_failed" // If-Match names a version that is no longer current
	EUNAVAILABLE  = "unavailable"         // the store is down; retry later
	EINTERNAL     = "internal"            // a bug or an unexpected failure
)

// Error is wangge's application error: a code for machines and a message for
// people. The message must name what is wrong and where.
type Error struct {
	Code    string
	Message string
	Err     error // the cause, for logs; never shown to clients
}

func (e *Error) Error() string {
	if e.Err != nil && e.Message == "" {
		return e.Err.Error()
	}
	return e.Message
}

func (e *Error) Unwrap() error { return e.Err }

// Errorf returns an *Error with the given code and a formatted message.
func Errorf(code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// Wrap returns an *Error with code and message that keeps err as its cause.
func Wrap(code string, err error, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...), Err: err}
}

// ErrorCode returns the code of the first *Error in err's chain, or EINTERNAL.
func ErrorCode(err error) string {
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return EINTERNAL
}

// ErrorMessage returns the message of the first *Error in err's chain, or a
// generic text: internal details are not for clients.
func ErrorMessage(err error) string {
	var e *Error
	if errors.As(err, &e) && e.Message != "" {
		return e.Message
	}
	return "internal error"
}
