// Command soak is the helper of scripts/soak.sh, the soak benchmark of
// `cflogd run` (issue 6). It has three steps:
//
//	soak watch  -pid P -metrics URL -listen ADDR -samples FILE -every D
//	    receives the daemon's webhook notifications (POST /hook, counts at
//	    GET /counts) and samples the daemon every D until SIGTERM: RSS from
//	    /proc/P/status, CPU ticks from /proc/P/stat, go_goroutines and the
//	    delivery histogram from /metrics, the load average.
//	soak finish -metrics URL -hook URL -vl URL -dir DIR
//	    once the feed has stopped: waits until the daemon has read and
//	    delivered everything, then saves its metrics, what the webhook
//	    receiver got and what VictoriaLogs holds (signature and cursor of
//	    every event) in DIR.
//	soak report -samples FILE -dir DIR -scan FILE -feed-start T -feed-end T ...
//	    judges the run against the soak's targets, prints a Markdown
//	    summary and exits 1 on FAIL.
//	soak seconds DURATION
//	    prints a Go duration in seconds (for the script).
package main

import (
	"fmt"
	"os"
	"time"
)

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: soak watch|finish|report|seconds [flags]")
		os.Exit(2)
	}
	var err error
	switch os.Args[1] {
	case "watch":
		err = watchMain(os.Args[2:])
	case "finish":
		err = finishMain(os.Args[2:])
	case "seconds":
		// soak seconds DURATION: a Go duration in whole seconds, for the script.
		var d time.Duration
		if len(os.Args) == 3 {
			d, err = time.ParseDuration(os.Args[2])
		}
		if err != nil || d <= 0 {
			fmt.Fprintln(os.Stderr, "usage: soak seconds DURATION (a positive Go duration: 2m, 1h)")
			os.Exit(2)
		}
		fmt.Println(int64(d.Seconds()))
	case "report":
		var pass bool
		pass, err = reportMain(os.Args[2:], os.Stdout)
		if err == nil && !pass {
			os.Exit(1)
		}
	default:
		err = fmt.Errorf("unknown step %q: want watch, finish or report", os.Args[1])
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "soak:", err)
		os.Exit(2)
	}
}
