package testpeer

import (
	"net/http"
	"strings"
	"testing"
	"time"
)

func TestRestartableVictoriaLogsKeepsRows(t *testing.T) {
	v := StartRestartableVictoriaLogs(t)
	body := `{"_msg":"one","job":"t"}` + "\n" + `{"_msg":"two","job":"t"}` + "\n"
	resp, err := http.Post(v.URL+"/insert/jsonline?_stream_fields=job", "application/stream+json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("push: %s", resp.Status)
	}
	v.Stop(t)
	if _, err := http.Get(v.URL + "/health"); err == nil {
		t.Fatalf("victoria-logs still answers after Stop")
	}
	v.Start(t)
	if rows := v.WaitRows(t, `job:t`, 2, 10*time.Second); len(rows) != 2 {
		t.Errorf("after the restart: %d rows, want the 2 acknowledged before the stop: %v", len(rows), rows)
	}
}
