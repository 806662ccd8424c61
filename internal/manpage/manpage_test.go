package manpage

import (
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

const scanHelp = `Usage: cflogd scan [--since T] [flags]

Reads journal entries and
reports the events.

Exit status: 0 done.

Flags:
  -b, --boot [ID]
        only entries of the current boot
  --no-color
        no colours
  --output FORMAT
        output FORMAT: table
        or json
        (default table)
`

func TestParseCommand(t *testing.T) {
	tests := []struct {
		name, help string
		want       Command
		wantErr    error
	}{
		{
			name: "scan", help: scanHelp,
			want: Command{
				Name:       "scan",
				Usage:      "cflogd scan [--since T] [flags]",
				Paragraphs: []string{"Reads journal entries and reports the events.", "Exit status: 0 done."},
				Flags: []Flag{
					{Name: "boot", Arg: "[ID]", Short: []string{"b"}, Text: "only entries of the current boot"},
					{Name: "no-color", Text: "no colours"},
					{Name: "output", Arg: "FORMAT", Text: "output FORMAT: table or json", Default: "table"},
				},
			},
		},
		{
			name: "version", help: "Usage: cflogd version\n\nPrints the version.\n",
			want: Command{Name: "version", Usage: "cflogd version", Paragraphs: []string{"Prints the version."}},
		},
		{name: "bad", help: "cflogd bad\n", want: Command{Name: "bad"}, wantErr: ErrFormat},
		{
			name: "stray", help: "Usage: cflogd x\n\nText.\n\nFlags:\nstray line\n",
			want:    Command{Name: "stray", Usage: "cflogd x", Paragraphs: []string{"Text."}},
			wantErr: ErrFormat,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseCommand(tt.name, tt.help)
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("err = %v, want %v", err, tt.wantErr)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("ParseCommand (-want +got):\n%s", diff)
			}
		})
	}
}

func TestParseOverview(t *testing.T) {
	help := "cflogd classifies\nthe journal.\n\nUsage: cflogd <command> [flags] [args]\n\nCommands:\n  scan     report things\n  help     show this help\n"
	got, err := ParseOverview(help)
	if err != nil {
		t.Fatal(err)
	}
	want := Overview{Description: "cflogd classifies the journal.", Commands: []Entry{{"scan", "report things"}, {"help", "show this help"}}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("ParseOverview (-want +got):\n%s", diff)
	}
	for _, bad := range []string{"no usage\n", "x\nUsage: cflogd\n\nno commands\n"} {
		if _, err := ParseOverview(bad); !errors.Is(err, ErrFormat) {
			t.Errorf("ParseOverview(%q) err = %v, want ErrFormat", bad, err)
		}
	}
}

func TestRoffLine(t *testing.T) {
	tests := []struct{ in, want string }{
		{"plain", "plain"},
		{"--since 1h", `\-\-since 1h`},
		{`a\b`, `a\eb`},
		{".hidden request", `\&.hidden request`},
		{"'quote", `\&'quote`},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			if diff := cmp.Diff(tt.want, roffLine(tt.in)); diff != "" {
				t.Errorf("roffLine (-want +got):\n%s", diff)
			}
		})
	}
}

func TestRender(t *testing.T) {
	c, err := ParseCommand("scan", scanHelp)
	if err != nil {
		t.Fatal(err)
	}
	out := Render(Page{Overview: Overview{Description: "cflogd classifies."}, Commands: []Command{c}})
	for _, want := range []string{
		".TH CFLOGD 1",
		".SS cflogd scan\n",
		"\\fB\\-\\-output\\fR \\fIFORMAT\\fR\noutput FORMAT: table or json (default table)\n",
		"\\fB\\-\\-no\\-color\\fR\nno colours\n",
		".SH FILES\n",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("Render output lacks %q", want)
		}
	}
	for i, line := range strings.Split(out, "\n") {
		if strings.HasPrefix(line, ".") && !strings.HasPrefix(line, `.\"`) {
			req := strings.Fields(line)[0]
			switch req {
			case ".TH", ".SH", ".SS", ".PP", ".TP", ".br", ".I", ".IR", ".B", ".BR":
			default:
				t.Errorf("line %d: unknown request %q", i+1, req)
			}
		}
	}
}
