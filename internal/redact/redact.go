// Package redact removes secrets from URLs and errors before they reach a log
// line or an error message: the password or token in a URL's userinfo, query
// values, the token path of a Slack or similar webhook, and literal secrets
// such as bearer tokens.
package redact

import (
	"errors"
	"net/url"
	"strings"
)

// Mask replaces every secret.
const Mask = "xxxxx"

// URL returns u as a string with its secrets masked: the userinfo, every
// query value, the fragment, and path segments that look like tokens (every
// segment after "/services/" or "/hooks/", and any long segment that mixes
// letters and digits). Scheme, host and the rest of the path stay readable.
func URL(u *url.URL) string {
	if u == nil {
		return ""
	}
	r := *u
	if r.User != nil {
		r.User = url.User(Mask)
	}
	if r.RawQuery != "" {
		q := r.Query()
		for k, vs := range q {
			for i := range vs {
				vs[i] = Mask
			}
			q[k] = vs
		}
		r.RawQuery = q.Encode()
	}
	if r.Fragment != "" || r.RawFragment != "" {
		r.Fragment, r.RawFragment = Mask, ""
	}
	if r.Opaque != "" {
		r.Opaque = Mask
	}
	r.Path, r.RawPath = Path(r.Path), ""
	return r.String()
}

// String parses s as a URL and returns URL of it. A string that does not
// parse as an absolute URL (with a scheme, and a host unless it is opaque)
// is masked entirely, since it may be a secret pasted where a URL belongs.
func String(s string) string {
	if s == "" {
		return ""
	}
	u, err := url.Parse(s)
	if err != nil || u.Scheme == "" || u.Host == "" && u.Opaque == "" {
		return Mask
	}
	return URL(u)
}

// Secrets returns the literal secrets in a URL, to scrub from text that may
// quote them (a server's error body echoing the request, for example): its
// userinfo, its query values and the path segments Path masks (those of
// four or more bytes), then the whole URL when it holds a secret (one too
// short to list, say). A URL without secrets gives none: its scheme, host
// and path stay readable wherever it is quoted.
func Secrets(raw string) []string {
	if raw == "" {
		return nil
	}
	u, err := url.Parse(raw)
	if err != nil {
		return []string{raw}
	}
	var out []string
	if u.User != nil {
		if p, ok := u.User.Password(); ok {
			out = append(out, p, url.QueryEscape(p))
		} else {
			out = append(out, u.User.Username())
		}
	}
	for _, vs := range u.Query() {
		for _, v := range vs {
			if len(v) >= 4 {
				out = append(out, v, url.QueryEscape(v))
			}
		}
	}
	clear, masked := strings.Split(u.Path, "/"), strings.Split(Path(u.Path), "/")
	for i := range clear {
		if masked[i] == Mask && clear[i] != Mask && len(clear[i]) >= 4 {
			out = append(out, clear[i])
		}
	}
	// Last, so that the parts are masked first and the host stays.
	if String(raw) != raw {
		out = append(out, raw)
	}
	return out
}

// Path masks the segments of an URL path that look like tokens.
func Path(p string) string {
	if p == "" {
		return p
	}
	segs := strings.Split(p, "/")
	hide := false
	for i, s := range segs {
		switch {
		case s == "":
		case hide || looksLikeToken(s):
			segs[i] = Mask
		case s == "services" || s == "hooks" || s == "webhooks" || s == "hook":
			// Slack (/services/T/B/token), Discord and Mattermost style
			// webhooks carry their secret in the segments that follow.
			hide = true
		}
	}
	return strings.Join(segs, "/")
}

// looksLikeToken reports whether a path segment is long and mixes letters
// and digits, as generated tokens do and words and versions do not.
func looksLikeToken(s string) bool {
	if len(s) < 16 {
		return false
	}
	var letter, digit bool
	for _, c := range s {
		switch {
		case c >= '0' && c <= '9':
			digit = true
		case c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z':
			letter = true
		}
	}
	return letter && digit
}

// Error returns err with every URL it carries masked and every literal
// secret replaced by Mask. A *url.Error (what http.Client returns, with the
// full request URL in it) is copied with its URL redacted, so errors.Is and
// errors.As still see the underlying cause, for example
// context.DeadlineExceeded. Empty secrets are ignored.
func Error(err error, secrets ...string) error {
	if err == nil {
		return nil
	}
	var ue *url.Error
	if errors.As(err, &ue) {
		c := *ue
		c.URL = String(ue.URL)
		c.Err = Error(ue.Err, secrets...)
		if ue == err {
			err = &c
		} else {
			err = &rewritten{msg: strings.Replace(err.Error(), ue.Error(), c.Error(), 1), err: &c}
		}
	}
	msg := err.Error()
	clean := Text(msg, secrets...)
	if clean == msg {
		return err
	}
	next := errors.Unwrap(err)
	if _, ok := err.(*url.Error); ok {
		// Its URL is already redacted: keep it in the chain for errors.As.
		next = err
	}
	return &rewritten{msg: clean, err: next}
}

// Text replaces every non-empty secret in s with Mask.
func Text(s string, secrets ...string) string {
	for _, sec := range secrets {
		if sec != "" {
			s = strings.ReplaceAll(s, sec, Mask)
		}
	}
	return s
}

// rewritten is an error whose message was scrubbed; it unwraps to the
// (already redacted where possible) cause so errors.Is keeps working.
type rewritten struct {
	msg string
	err error
}

func (e *rewritten) Error() string { return e.msg }
func (e *rewritten) Unwrap() error { return e.err }

// Secret is a string that never prints itself: fmt, %v, %+v, %#v and JSON
// all show Mask. Use string(s) to get the value.
type Secret string

// String returns Mask, or "" for an empty secret.
func (s Secret) String() string {
	if s == "" {
		return ""
	}
	return Mask
}

// GoString returns Mask quoted, for %#v.
func (s Secret) GoString() string { return `"` + s.String() + `"` }

// MarshalText returns Mask, so encoders never write the secret.
func (s Secret) MarshalText() ([]byte, error) { return []byte(s.String()), nil }
