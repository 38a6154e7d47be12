// Package reqbody owns the validation of `recotem serve` request bodies: a
// small strict JSON scanner (RFC 8259 plus UTF-8, no reflection, no
// allocation) and the three body shapes — the legacy /predict object, the
// :recommend / :recommend-related object and the batch envelope — with
// pydantic's messages, types and locs so that clients written against
// upstream keep working (the loc of every problem starts with "body", as
// FastAPI's does).
//
// A Request is per-request scratch: it is reused after Reset, and what it
// returns (Spans, Elems, Errs) lives until then. It is not safe for
// concurrent use.
package reqbody
