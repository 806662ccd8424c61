// Package httpclient builds the HTTP client the HTTP sinks share: a request
// timeout, bearer or basic authentication, extra headers, and TLS with a CA
// file, a client certificate for mTLS (re-read when the files change, so
// rotated certificates are picked up without a restart) and
// insecure_skip_verify, off by default. Errors it returns never contain the
// URL's secrets or the credentials.
package httpclient

import (
	"bytes"
	"cmp"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"net/url"
	"os"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/rs/zerolog"

	"github.com/centra-cloud/cflogd/internal/redact"
	"github.com/centra-cloud/cflogd/sink/retry"
)

// Config is the client part of a sink's configuration; its keys are those
// of the sink's [[sink]] table in cflogd.toml.
type Config struct {
	// Timeout bounds one request, connection to last body byte. Default 10s.
	Timeout time.Duration `toml:"timeout" doc:"One request, from connecting to the last byte of the answer."`
	// BearerToken is sent as "Authorization: Bearer …".
	BearerToken redact.Secret `toml:"bearer_token" doc:"Sent as 'Authorization: Bearer <token>'; not with basic auth."`
	// BasicAuthUser and BasicAuthPassword are sent as basic authentication.
	BasicAuthUser     string        `toml:"basic_auth_user" doc:"User of basic authentication."`
	BasicAuthPassword redact.Secret `toml:"basic_auth_password" doc:"Password of basic authentication (needs 'basic_auth_user')."`
	// Headers are added to every request (after the sink's own, so they can
	// override e.g. Content-Type; never logged).
	Headers map[string]string `toml:"headers" doc:"Extra request headers, e.g. '{ X-Team = \"storage\" }'; never logged."`
	// CAFile is a PEM bundle of the CAs that sign the server's certificate;
	// empty means the system roots.
	CAFile string `toml:"ca_file" default:"the system roots" doc:"PEM bundle of the CAs that sign the server's certificate."`
	// CertFile and KeyFile are the client certificate and key for mTLS.
	CertFile string `toml:"cert_file" doc:"Client certificate (PEM) for mTLS, with 'key_file'; both are re-read when they change."`
	KeyFile  string `toml:"key_file" doc:"Client key (PEM) for mTLS, with 'cert_file'."`
	// ServerName overrides the name the server certificate is checked for.
	ServerName string `toml:"server_name" default:"the URL's host" doc:"Name the server certificate is checked for."`
	// InsecureSkipVerify turns certificate verification off. Never the default.
	InsecureSkipVerify bool `toml:"insecure_skip_verify" doc:"Turns certificate verification off; logged as a warning at start. Never in production."`
	// UserAgent defaults to "cflogd".
	UserAgent string `toml:"-"`
}

// DefaultTimeout is the request timeout when Config.Timeout is 0.
const DefaultTimeout = 10 * time.Second

// Validate checks the fields that depend on each other.
func (c Config) Validate() error {
	var errs []error
	if c.BearerToken != "" && (c.BasicAuthUser != "" || c.BasicAuthPassword != "") {
		errs = append(errs, errors.New("bearer token and basic auth are mutually exclusive"))
	}
	if c.BasicAuthPassword != "" && c.BasicAuthUser == "" {
		errs = append(errs, errors.New("basic auth password without user"))
	}
	if (c.CertFile == "") != (c.KeyFile == "") {
		errs = append(errs, errors.New("cert_file and key_file must be set together"))
	}
	if c.Timeout < 0 {
		errs = append(errs, fmt.Errorf("negative timeout %v", c.Timeout))
	}
	for _, k := range slices.Sorted(maps.Keys(c.Headers)) {
		if !validHeaderName(k) {
			errs = append(errs, fmt.Errorf("header name %q is not valid", k))
		} else if !validHeaderValue(c.Headers[k]) {
			// The value is not shown: a header may hold a secret.
			errs = append(errs, fmt.Errorf("header %s: the value has a line break or another control character", k))
		}
	}
	return errors.Join(errs...)
}

// CheckURL checks that u, a sink's url, is set and is an http(s) URL; its
// error shows u with its secrets masked.
func CheckURL(u string) error {
	if u == "" {
		return errors.New("url is required")
	}
	if p, err := url.Parse(u); err != nil || (p.Scheme != "http" && p.Scheme != "https") || p.Host == "" {
		return fmt.Errorf("url %q is not an http(s) URL", redact.String(u))
	}
	return nil
}

// validHeaderName reports whether k is an HTTP token (RFC 9110, 5.6.2).
func validHeaderName(k string) bool {
	for i := 0; i < len(k); i++ {
		if c := k[i]; !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0) {
			return false
		}
	}
	return k != ""
}

// validHeaderValue reports whether v has no control character but tab, so
// it cannot split a request into more headers.
func validHeaderValue(v string) bool {
	for i := 0; i < len(v); i++ {
		if c := v[i]; c < ' ' && c != '\t' || c == 0x7f {
			return false
		}
	}
	return true
}

// Client sends a sink's requests.
type Client struct {
	hc  *http.Client
	cfg Config
}

// New builds a client; it reads the CA file and checks that the client
// certificate loads.
func New(cfg Config) (*Client, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg.Timeout = cmp.Or(cfg.Timeout, DefaultTimeout)
	cfg.UserAgent = cmp.Or(cfg.UserAgent, "cflogd")
	tc := &tls.Config{
		MinVersion:         tls.VersionTLS12,
		ServerName:         cfg.ServerName,
		InsecureSkipVerify: cfg.InsecureSkipVerify, //nolint:gosec // opt-in only
	}
	if cfg.CAFile != "" {
		pem, err := os.ReadFile(cfg.CAFile)
		if err != nil {
			return nil, fmt.Errorf("read ca_file: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("read ca_file %s: no PEM certificate in it", cfg.CAFile)
		}
		tc.RootCAs = pool
	}
	if cfg.CertFile != "" {
		kp := &keyPair{cert: cfg.CertFile, key: cfg.KeyFile}
		if _, err := kp.get(); err != nil {
			return nil, err
		}
		tc.GetClientCertificate = func(*tls.CertificateRequestInfo) (*tls.Certificate, error) { return kp.get() }
	}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.TLSClientConfig = tc
	tr.MaxIdleConnsPerHost = 4
	return &Client{hc: &http.Client{Transport: tr, Timeout: cfg.Timeout}, cfg: cfg}, nil
}

// SetTransport replaces the client's transport: tests run the network in
// memory with it (and so under testing/synctest's fake clock).
func (c *Client) SetTransport(rt http.RoundTripper) { c.hc.Transport = rt }

// Do sends req with the configured authentication and headers. Its error,
// like every error of this package, has the URL redacted and no credential.
func (c *Client) Do(req *http.Request) (*http.Response, error) {
	req.Header.Set("User-Agent", c.cfg.UserAgent)
	switch {
	case c.cfg.BearerToken != "":
		req.Header.Set("Authorization", "Bearer "+string(c.cfg.BearerToken))
	case c.cfg.BasicAuthUser != "":
		req.SetBasicAuth(c.cfg.BasicAuthUser, string(c.cfg.BasicAuthPassword))
	}
	for k, v := range c.cfg.Headers {
		req.Header.Set(k, v)
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		return nil, redact.Error(err, c.Secrets(req.URL.String())...)
	}
	return resp, nil
}

// Secrets lists the literal secrets to scrub from text about this client:
// the credentials, the header values and the secrets of the given raw URLs
// (see redact.Secrets).
func (c *Client) Secrets(urls ...string) []string {
	s := []string{string(c.cfg.BearerToken), string(c.cfg.BasicAuthPassword)}
	if c.cfg.BasicAuthUser != "" {
		// What the Authorization header carries, should a server echo it.
		cred := base64.StdEncoding.EncodeToString([]byte(c.cfg.BasicAuthUser + ":" + string(c.cfg.BasicAuthPassword)))
		s = append(s, cred, strings.TrimRight(cred, "="))
	}
	for _, v := range c.cfg.Headers {
		if len(v) >= 6 {
			s = append(s, v)
		}
	}
	for _, u := range urls {
		s = append(s, redact.Secrets(u)...)
	}
	return s
}

// Request is one POST.
type Request struct {
	// URL is the target; it may hold secrets (they are kept out of errors).
	URL string
	// ContentType is the body's media type.
	ContentType string
	// Header holds further headers, set before the configured ones.
	Header http.Header
	// Body is sent as it is, on every attempt.
	Body []byte
}

// Post sends r once. It returns nil for a 2xx answer, a *retry.StatusError
// (with the body's start, scrubbed of this client's secrets) for other
// answers, or a transport error with the URL redacted.
func (c *Client) Post(ctx context.Context, r Request) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, r.URL, bytes.NewReader(r.Body))
	if err != nil {
		return retry.Permanent(fmt.Errorf("build request for %s: %w", redact.String(r.URL), redact.Error(err, c.Secrets(r.URL)...)))
	}
	for k, vs := range r.Header {
		req.Header[k] = vs
	}
	if r.ContentType != "" {
		req.Header.Set("Content-Type", r.ContentType)
	}
	resp, err := c.Do(req)
	if err != nil {
		return err
	}
	err = retry.CheckResponse(resp, time.Now())
	var se *retry.StatusError
	if errors.As(err, &se) {
		se.Body = redact.Text(se.Body, c.Secrets(r.URL)...)
	}
	return err
}

// PostRetry sends r until it succeeds, fails permanently, the policy's
// attempts are used up or ctx ends (see retry.Do). Each failed attempt is
// counted in st as failed, each retry as retried and logged at warn level.
func (c *Client) PostRetry(ctx context.Context, p retry.Policy, st *retry.Stats, log *zerolog.Logger, r Request) error {
	return retry.Do(ctx, p, func(attempt int, err error, wait time.Duration) {
		st.AddRetried(1)
		log.Warn().Err(err).Int("attempt", attempt).Int64("wait_ms", wait.Milliseconds()).Msg("retry request")
	}, func(ctx context.Context) error {
		err := c.Post(ctx, r)
		if err != nil {
			st.AddFailed(1)
		}
		return err
	})
}

// CloseIdleConnections closes the client's idle connections.
func (c *Client) CloseIdleConnections() { c.hc.CloseIdleConnections() }

// keyPair loads a client certificate and reloads it when either file's
// modification time changes.
type keyPair struct {
	cert, key string

	mu              sync.Mutex
	certMod, keyMod time.Time
	loaded          *tls.Certificate
}

func (k *keyPair) get() (*tls.Certificate, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	cs, err1 := os.Stat(k.cert)
	ks, err2 := os.Stat(k.key)
	if err := errors.Join(err1, err2); err != nil {
		if k.loaded != nil {
			return k.loaded, nil // keep the last good pair during a rotation
		}
		return nil, fmt.Errorf("load client certificate: %w", err)
	}
	if k.loaded != nil && cs.ModTime().Equal(k.certMod) && ks.ModTime().Equal(k.keyMod) {
		return k.loaded, nil
	}
	c, err := tls.LoadX509KeyPair(k.cert, k.key)
	if err != nil {
		if k.loaded != nil {
			return k.loaded, nil
		}
		return nil, fmt.Errorf("load client certificate %s: %w", k.cert, err)
	}
	k.loaded, k.certMod, k.keyMod = &c, cs.ModTime(), ks.ModTime()
	return k.loaded, nil
}

// Base is what every HTTP sink keeps besides its configuration; embedded,
// it gives the sink Stats and Close.
type Base struct {
	Client *Client
	Safe   string // the URL with its secrets masked, for logs and errors
	Counts retry.Stats
	Log    zerolog.Logger // with the sink's name
}

// NewBase builds the client of cfg for the sink of kind (loki, slack, …)
// named name, whose URL with its secrets masked is safe. It warns in the
// log when cfg turns certificate verification off.
func NewBase(kind, name, safe string, cfg Config, log zerolog.Logger) (*Base, error) {
	client, err := New(cfg)
	if err != nil {
		return nil, fmt.Errorf("configure %s sink %s: %w", kind, name, err)
	}
	b := &Base{Client: client, Safe: safe, Log: log.With().Str("sink", name).Logger()}
	if cfg.InsecureSkipVerify {
		b.Log.Warn().Msg("insecure_skip_verify is set: this sink does not verify the server's TLS certificate, so anyone on the network path can read and change what it sends")
	}
	return b, nil
}

// Stats returns the delivery counters: Sent and Dropped count items (Loki
// entries, alerts, messages, events), Failed and Retried count requests.
func (b *Base) Stats() retry.Counts { return b.Counts.Snapshot() }

// Close releases idle connections.
func (b *Base) Close() { b.Client.CloseIdleConnections() }

// JSON encodes v as a request body, without HTML escaping: a message's <, >
// and & reach the receiver as they were logged.
func JSON(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	err := enc.Encode(v)
	return buf.Bytes(), err
}

// PostSplitting posts items (kind: alerts, events) to url as the JSON of
// wrap(items), with header(body) when header is not nil, and retries. A 413
// for more than one item posts each half apart; any other failure drops
// the items, logged as rejected.
func PostSplitting[T any](ctx context.Context, b *Base, policy retry.Policy, url, kind, rejected string, items []T, wrap func([]T) any, header func(body []byte) http.Header) error {
	body, err := JSON(wrap(items))
	if err != nil {
		b.drop(kind, len(items), err, "drop "+kind+" that do not encode as JSON")
		return fmt.Errorf("%w: encode %d %s: %w", retry.ErrDropped, len(items), kind, err)
	}
	req := Request{URL: url, ContentType: "application/json", Body: body}
	if header != nil {
		req.Header = header(body)
	}
	if err = b.Client.PostRetry(ctx, policy, &b.Counts, &b.Log, req); err == nil {
		b.Counts.AddSent(len(items))
		return nil
	}
	if ctx.Err() != nil {
		return err
	}
	var se *retry.StatusError
	if errors.As(err, &se) && se.Code == http.StatusRequestEntityTooLarge && len(items) > 1 {
		b.Log.Info().Int(kind, len(items)).Msg("request too large, splitting it")
		half := len(items) / 2
		err1 := PostSplitting(ctx, b, policy, url, kind, rejected, items[:half], wrap, header)
		if err1 != nil && ctx.Err() != nil {
			return err1
		}
		return errors.Join(err1, PostSplitting(ctx, b, policy, url, kind, rejected, items[half:], wrap, header))
	}
	b.drop(kind, len(items), err, rejected)
	return fmt.Errorf("%w: post %d %s to %s: %w", retry.ErrDropped, len(items), kind, b.Safe, err)
}

func (b *Base) drop(kind string, n int, err error, msg string) {
	b.Counts.AddDropped(n)
	b.Log.Error().Err(err).Int(kind, n).Msg(msg)
}
