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
	EFORBIDDEN    = "forbidden"           // the caller's key may not do this to this record
	EUNAVAILABLE  = "unavailable"         // the store is down; retry later
	EINTERNAL     = "internal"            // a bug or an unexpected failure
)

// Error is wangge's application error: a code for machines and a message for
// people. The message must name what is wrong and where.
type Error struct {
	Code    string
	Message string
	// Field names the field of a record that a validation error is about:
	// a property as features show it ("severity", "source_id"), "geometry"
	// for a record's position or shape, a dotted path for a field of a
	// part ("grids.households"); "" when the error is not about one field.
	Field string
	Err   error // the cause, for logs; never shown to clients
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

// FieldError returns an *Error with the given code and formatted message
// about one field of a record (see Error.Field).
func FieldError(code, field, format string, args ...any) *Error {
	return &Error{Code: code, Field: field, Message: fmt.Sprintf(format, args...)}
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

// ErrorField returns the field named by the first *Error in err's chain, or
// "" if it names none.
func ErrorField(err error) string {
	var e *Error
	if errors.As(err, &e) {
		return e.Field
	}
	return ""
}

// inField returns err with its message prefixed and its field put under
// parent ("grids" + "households" = "grids.households"), for an error about
// a part of a record; other errors are returned as they are.
func inField(err error, parent, prefix string) error {
	var e *Error
	if !errors.As(err, &e) {
		return err
	}
	field := parent
	if e.Field != "" {
		field = parent + "." + e.Field
	}
	return &Error{Code: e.Code, Field: field, Message: prefix + e.Message, Err: e.Err}
}
