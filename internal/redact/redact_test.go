package redact

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestString(t *testing.T) {
	tests := []struct {
		in, want string
	}{
		{"https://loki.example:3100/loki/api/v1/push", "https://loki.example:3100/loki/api/v1/push"},
		{"https://user:hunter2@loki.example/loki/api/v1/push", "https://xxxxx@loki.example/loki/api/v1/push"},
		{"https://tok3n@host/x", "https://xxxxx@host/x"},
		{"https://hooks.slack.com/services/T0000/B0000/XXXXXXXXXXXXXXXXXXXXXXXX", "https://hooks.slack.com/services/xxxxx/xxxxx/xxxxx"},
		{"https://chat.example/hooks/abc", "https://chat.example/hooks/xxxxx"},
		{"https://h.example/api/v2/alerts?token=s3cret&x=1", "https://h.example/api/v2/alerts?token=xxxxx&x=xxxxx"},
		{"https://h.example/in/9f86d081884c7d659a2feaa0c55ad015/post", "https://h.example/in/xxxxx/post"},
		{"https://h.example/p#frag", "https://h.example/p#xxxxx"},
		{"http://[::1]:namedport", "xxxxx"},
		// Not an absolute URL: perhaps a token pasted where the URL belongs.
		{"SECRETtokenOnlyLetters", "xxxxx"},
		{"not a url SECRETtokenOnlyLetters", "xxxxx"},
		{"/services/SECRETtokenOnlyLetters", "xxxxx"},
		{"hooks.slack.com/services/T/B/SECRETtokenOnlyLetters", "xxxxx"},
		{"mailto:ops@example.com", "mailto:xxxxx"},
		{"ftp://user:pw@h/x", "ftp://xxxxx@h/x"},
		{"", ""},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			if diff := cmp.Diff(tt.want, String(tt.in)); diff != "" {
				t.Errorf("String(%q) (-want +got):\n%s", tt.in, diff)
			}
		})
	}
}

func TestError(t *testing.T) {
	const secretURL = "https://bob:pa55word@hooks.slack.com/services/T1/B2/SECRETTOKENSECRETTOKEN?k=qv"
	base := &url.Error{Op: "Post", URL: secretURL, Err: context.DeadlineExceeded}
	tests := []struct {
		name    string
		err     error
		secrets []string
		want    string
	}{
		{"url error", base, nil, `Post "https://xxxxx@hooks.slack.com/services/xxxxx/xxxxx/xxxxx?k=xxxxx": context deadline exceeded`},
		{"wrapped url error", fmt.Errorf("send batch: %w", base), nil, `send batch: Post "https://xxxxx@hooks.slack.com/services/xxxxx/xxxxx/xxxxx?k=xxxxx": context deadline exceeded`},
		{"literal secret", fmt.Errorf("push: bearer tok-123 refused: %w", context.Canceled), []string{"tok-123", ""}, "push: bearer xxxxx refused: context canceled"},
		{"literal secret in url error", &url.Error{Op: "Post", URL: "http://h/x", Err: errors.New("token tok-123 bad")}, []string{"tok-123"}, `Post "http://h/x": token xxxxx bad`},
		{"clean", errors.New("nothing here"), []string{"tok"}, "nothing here"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Error(tt.err, tt.secrets...)
			if diff := cmp.Diff(tt.want, got.Error()); diff != "" {
				t.Errorf("message (-want +got):\n%s", diff)
			}
			for _, s := range []string{"pa55word", "SECRETTOKEN", "qv", "tok-123", "bob"} {
				if strings.Contains(got.Error(), s) {
					t.Errorf("message %q contains secret %q", got, s)
				}
			}
		})
	}
	t.Run("keeps cause", func(t *testing.T) {
		got := Error(fmt.Errorf("send: %w", base))
		if !errors.Is(got, context.DeadlineExceeded) {
			t.Errorf("errors.Is(%v, DeadlineExceeded) = false", got)
		}
		var ue *url.Error
		if !errors.As(got, &ue) || strings.Contains(ue.URL, "pa55word") {
			t.Errorf("errors.As url.Error: %v (url %q)", ue, ue.URL)
		}
		if base.URL != secretURL {
			t.Errorf("original error modified: %q", base.URL)
		}
	})
	if Error(nil) != nil {
		t.Error("Error(nil) != nil")
	}
}

func TestSecret(t *testing.T) {
	type cfg struct {
		Token Secret
		Empty Secret
	}
	c := cfg{Token: "hunter2"}
	js, err := json.Marshal(c)
	if err != nil {
		t.Fatal(err)
	}
	outs := []string{fmt.Sprint(c), fmt.Sprintf("%+v", c), fmt.Sprintf("%#v", c), fmt.Sprintf("%s", c.Token), string(js)}
	for _, o := range outs {
		if strings.Contains(o, "hunter2") {
			t.Errorf("secret printed: %s", o)
		}
	}
	if string(c.Token) != "hunter2" {
		t.Errorf("string(Secret) = %q", string(c.Token))
	}
}

func TestSecrets(t *testing.T) {
	tests := []struct {
		in   string
		want []string
	}{
		{"", nil},
		// No secret: nothing to mask, the host and path stay readable.
		{"https://loki/loki/api/v1/push", nil},
		{"https://u:p%40ss@h/x?token=abcd&n=1", []string{"p@ss", "p%40ss", "abcd", "abcd", "https://u:p%40ss@h/x?token=abcd&n=1"}},
		{"https://tok@h/x", []string{"tok", "https://tok@h/x"}},
		{"https://hooks.slack.com/services/T1/B0123/SECRET", []string{"B0123", "SECRET", "https://hooks.slack.com/services/T1/B0123/SECRET"}},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			if diff := cmp.Diff(tt.want, Secrets(tt.in)); diff != "" {
				t.Errorf("Secrets(%q) (-want +got):\n%s", tt.in, diff)
			}
		})
	}
}

// TestTextKeepsTheHost: text quoting a URL loses only the URL's secrets
// (issue 14: retry logs showed xxxxx for the whole URL, host included).
func TestTextKeepsTheHost(t *testing.T) {
	tests := []struct{ url, text, want string }{
		{"https://loki.example:3100/loki/api/v1/push", `Post "https://loki.example:3100/loki/api/v1/push": 503`,
			`Post "https://loki.example:3100/loki/api/v1/push": 503`},
		{"https://hooks.slack.com/services/T0000/B0000/XXXXXXXXXXXXXXXXXXXXXXXX", `Post "https://hooks.slack.com/services/T0000/B0000/XXXXXXXXXXXXXXXXXXXXXXXX": 500`,
			`Post "https://hooks.slack.com/services/xxxxx/xxxxx/xxxxx": 500`},
		{"https://bob:pa55word@am.example/api/v2/alerts?token=s3cret", `Post "https://bob:pa55word@am.example/api/v2/alerts?token=s3cret": EOF`,
			`Post "https://bob:xxxxx@am.example/api/v2/alerts?token=xxxxx": EOF`},
	}
	for _, tt := range tests {
		if got := Text(tt.text, Secrets(tt.url)...); got != tt.want {
			t.Errorf("Text(%q) = %q, want %q", tt.text, got, tt.want)
		}
		if err := Error(errors.New(tt.text), Secrets(tt.url)...); err.Error() != tt.want {
			t.Errorf("Error(%q) = %q, want %q", tt.text, err, tt.want)
		}
	}
}
