package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io/fs"
	"os"
	"os/signal"
	"syscall"

	"github.com/rs/zerolog"

	"github.com/centra-cloud/cflogd/config"
	"github.com/centra-cloud/cflogd/daemon"
	"github.com/centra-cloud/cflogd/sink/stdout"
)

func runCommand() *command {
	return &command{
		name:     "run",
		synopsis: "the daemon: follow the journal, classify, deliver to the sinks, checkpoint",
		usage:    "cflogd run [--config FILE]",
		help: `Follows the journal from the cursor saved in state_dir (or from
[journal] initial_position when none is saved), classifies every entry of
the configured units, delivers the events to the configured sinks, and saves
the cursor once every durable sink (loki, alertmanager) accepted everything
up to it. Slack and webhook notifications are grouped per host and
signature. SIGHUP reloads the pattern files; SIGTERM flushes the sinks and
saves the cursor. Serves /metrics, /healthz and /readyz on listen. While
no journal file can be opened for reading (permissions) it is not ready: it
logs why, sends no READY=1 and tries again every 5 s.

The configuration is TOML; every key has a default, but a configuration
file must name at least one [[sink]]. When --config is not given and the
default file does not exist, the defaults are used with a stdout sink, and
the log says so; cflogd check --config FILE checks a file as run loads it.`,
		run: (*app).runDaemon,
	}
}

type runFlags struct {
	fs     *flag.FlagSet
	config string
}

func newRunFlags() *runFlags {
	f := &runFlags{fs: flag.NewFlagSet("run", flag.ContinueOnError)}
	f.fs.StringVar(&f.config, "config", config.DefaultPath, "configuration `FILE`")
	return f
}

func (a *app) runDaemon(ctx context.Context, args []string) int {
	c := runCommand()
	f := newRunFlags()
	if code, ok := a.parseNoArgs(c, f.fs, args); !ok {
		return code
	}
	// SIGHUP is caught from the start: one that arrives while the
	// configuration loads and the journal opens is held (the channel keeps
	// one) and reloads once the daemon exists, instead of killing it.
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)

	explicit := false
	f.fs.Visit(func(fl *flag.Flag) { explicit = explicit || fl.Name == "config" })

	cfg, from, err := loadConfig(f.config, explicit)
	if err != nil {
		fmt.Fprintf(a.stderr, "cflogd run: %v\n", err)
		return exitUsage
	}
	log := a.logger(false).Level(logLevel(cfg.LogLevel))
	if from == "" {
		log.Info().Str("config", f.config).Msg("no configuration file: the defaults, with the events on stdout (a stdout sink)")
	} else {
		log.Info().Str("config", from).Int("sinks", len(cfg.Sinks)).Msg("configuration read")
	}
	d, err := daemon.New(daemon.Options{Config: cfg, Log: log, Version: version, Stdout: a.stdout})
	if err != nil {
		fmt.Fprintf(a.stderr, "cflogd run: %v\n", err)
		return exitUsage
	}

	go func() {
		for range hup {
			d.Reload() // logs what failed; the old library stays
		}
	}()

	if err := d.Run(ctx); err != nil {
		log.Error().Err(err).Msg("cflogd run stopped")
		return exitFailure
	}
	log.Info().Msg("stopped")
	return exitOK
}

// errNoSinks is the error of a configuration file without a [[sink]].
var errNoSinks = errors.New("no [[sink]]: name at least one, e.g. [[sink]] with type = \"stdout\"")

// loadConfig reads the configuration as run uses it: the file at path or,
// when path was not given and the default file does not exist, the
// defaults with a stdout sink; from is the file read, "" for none. A file
// that names no sink is an error.
func loadConfig(path string, explicit bool) (cfg *config.Config, from string, err error) {
	cfg, err = config.Load(path)
	switch {
	case errors.Is(err, fs.ErrNotExist) && !explicit:
		d := config.Default
		d.Sinks = []config.SinkConfig{stdout.Default}
		return &d, "", nil
	case err != nil:
		return nil, path, err
	case len(cfg.Sinks) == 0:
		return nil, path, fmt.Errorf("%s: %w", path, errNoSinks)
	}
	return cfg, path, nil
}

func logLevel(s string) zerolog.Level {
	l, err := zerolog.ParseLevel(s)
	if err != nil {
		return zerolog.InfoLevel
	}
	return l
}
