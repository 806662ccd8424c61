// Command benchfeed replays a journal export (the benchmark corpus) on
// stdout at a fixed rate with the timestamps rewritten to now, for
// systemd-journal-remote to turn into a journal that grows like a busy
// node's: scripts/bench-follow.sh pipes it into `systemd-journal-remote -o
// DIR/feed.journal -`.
package main

import (
	"bufio"
	"bytes"
	"flag"
	"fmt"
	"io"
	"os"
	"strconv"
	"time"
)

func main() {
	in := flag.String("in", "/tmp/corpus/export-full.txt", "journal export `file` to replay (wraps around at its end)")
	rate := flag.Int("rate", 20000, "entries per second")
	dur := flag.Duration("duration", 60*time.Second, "how long to feed")
	chunk := flag.Duration("chunk", 50*time.Millisecond, "write a chunk this often")
	flag.Parse()
	if err := feed(*in, *rate, *dur, *chunk, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "benchfeed:", err)
		os.Exit(1)
	}
}

func feed(path string, rate int, dur, chunk time.Duration, out io.Writer) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	r := bufio.NewReaderSize(f, 1<<20)
	w := bufio.NewWriterSize(out, 4<<20)
	per := int(float64(rate) * chunk.Seconds())
	start := time.Now()
	monoBase := start
	total := 0
	tick := time.NewTicker(chunk)
	defer tick.Stop()
	var entry []byte
	for range tick.C {
		if time.Since(start) > dur {
			break
		}
		now := time.Now()
		for i := range per {
			entry, err = next(r, f, entry[:0])
			if err != nil {
				return err
			}
			ts := now.Add(time.Duration(i) * time.Microsecond)
			writeEntry(w, entry, ts.UnixMicro(), ts.Sub(monoBase).Microseconds()+1_000_000)
			total++
		}
		if err := w.Flush(); err != nil {
			return err
		}
	}
	fmt.Fprintf(os.Stderr, "benchfeed: %d entries in %v (%.0f/s)\n", total, time.Since(start).Round(time.Millisecond), float64(total)/time.Since(start).Seconds())
	return nil
}

// next reads one entry (up to and including its blank line), starting
// over at the end of the file.
func next(r *bufio.Reader, f *os.File, buf []byte) ([]byte, error) {
	for {
		line, err := r.ReadSlice('\n')
		buf = append(buf, line...)
		if err == io.EOF {
			if _, err := f.Seek(0, io.SeekStart); err != nil {
				return nil, err
			}
			r.Reset(f)
			if len(buf) > 0 && buf[len(buf)-1] != '\n' {
				buf = buf[:0]
			}
			continue
		}
		if err != nil && err != bufio.ErrBufferFull {
			return nil, err
		}
		if len(line) == 1 && line[0] == '\n' {
			if len(buf) == 1 {
				buf = buf[:0] // a stray blank line
				continue
			}
			return buf, nil
		}
	}
}

var (
	realtime  = []byte("__REALTIME_TIMESTAMP=")
	monotonic = []byte("__MONOTONIC_TIMESTAMP=")
)

// writeEntry writes the entry with its two timestamps replaced.
func writeEntry(w *bufio.Writer, e []byte, rt, mono int64) {
	for len(e) > 0 {
		i := bytes.IndexByte(e, '\n')
		line := e[:i+1]
		e = e[i+1:]
		switch {
		case bytes.HasPrefix(line, realtime):
			w.Write(realtime)
			w.WriteString(strconv.FormatInt(rt, 10))
			w.WriteByte('\n')
		case bytes.HasPrefix(line, monotonic):
			w.Write(monotonic)
			w.WriteString(strconv.FormatInt(mono, 10))
			w.WriteByte('\n')
		default:
			w.Write(line)
		}
	}
}
