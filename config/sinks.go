package config

import (
	"errors"

	"github.com/rs/zerolog"

	"github.com/centra-cloud/cflogd/sink/alertmanager"
	"github.com/centra-cloud/cflogd/sink/loki"
	"github.com/centra-cloud/cflogd/sink/retry"
	"github.com/centra-cloud/cflogd/sink/slack"
	"github.com/centra-cloud/cflogd/sink/webhook"
)

// retryPolicy is the sink's backoff; maxAttempts 0 retries until delivered.
func (s Sink) retryPolicy(maxAttempts int) retry.Policy {
	return retry.Policy{Min: s.RetryMin, Max: s.RetryMax, MaxAttempts: maxAttempts}
}

// Loki returns the loki sink's configuration. It retries until delivered:
// the journal waits for it.
func (s Sink) Loki(log zerolog.Logger) loki.Config {
	return loki.Config{
		Name:        s.Name,
		URL:         string(s.URL),
		MinSeverity: s.MinSeverity,
		Tenant:      s.Tenant,
		Labels:      s.Labels,
		HTTP:        s.HTTP,
		BatchSize:   s.BatchSize,
		BatchWait:   s.BatchWait,
		Retry:       s.retryPolicy(0),
		Log:         log,
	}
}

// Alertmanager returns the alertmanager sink's configuration; it retries
// until delivered.
func (s Sink) Alertmanager(log zerolog.Logger) alertmanager.Config {
	return alertmanager.Config{
		Name:           s.Name,
		URL:            string(s.URL),
		MinSeverity:    s.MinSeverity,
		ResolveTimeout: s.ResolveTimeout,
		GeneratorURL:   s.GeneratorURL,
		MaxAlerts:      s.MaxAlerts,
		HTTP:           s.HTTP,
		Retry:          s.retryPolicy(0),
		Log:            log,
	}
}

// Slack returns the slack sink's configuration.
func (s Sink) Slack(log zerolog.Logger) slack.Config {
	return slack.Config{
		Name:        s.Name,
		URL:         s.URL,
		MinSeverity: s.MinSeverity,
		HTTP:        s.HTTP,
		Retry:       s.retryPolicy(s.MaxAttempts),
		Log:         log,
	}
}

// Webhook returns the webhook sink's configuration.
func (s Sink) Webhook(log zerolog.Logger) webhook.Config {
	return webhook.Config{
		Name:        s.Name,
		URL:         s.URL,
		MinSeverity: s.MinSeverity,
		Host:        s.Host,
		Secret:      s.Secret,
		MaxEvents:   s.MaxEvents,
		HTTP:        s.HTTP,
		Retry:       s.retryPolicy(s.MaxAttempts),
		Log:         log,
	}
}

// check runs the sink package's own validation.
func (s Sink) check() error {
	var nop zerolog.Logger
	switch s.Type {
	case TypeLoki:
		return s.Loki(nop).Validate()
	case TypeAlertmanager:
		return s.Alertmanager(nop).Validate()
	case TypeSlack:
		return s.Slack(nop).Validate()
	case TypeWebhook:
		return s.Webhook(nop).Validate()
	case TypeStdout:
		return nil
	}
	return errors.New("unknown sink type " + s.Type)
}
