package tail

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"

	"github.com/centra-cloud/cflogd/record"
)

// jsonEntry holds the fields cflogd uses of one journalctl -o json object.
// Journal field names are upper case, so encoding/json's case-insensitive
// key matching does no harm.
type jsonEntry struct {
	Message    json.RawMessage `json:"MESSAGE"`
	Realtime   json.RawMessage `json:"__REALTIME_TIMESTAMP"`
	Cursor     json.RawMessage `json:"__CURSOR"`
	Priority   json.RawMessage `json:"PRIORITY"`
	Unit       json.RawMessage `json:"_SYSTEMD_UNIT"`
	Identifier json.RawMessage `json:"SYSLOG_IDENTIFIER"`
	Target     json.RawMessage `json:"TARGET"`
	PID        json.RawMessage `json:"_PID"`
	Host       json.RawMessage `json:"_HOSTNAME"`
	BootID     json.RawMessage `json:"_BOOT_ID"`
}

// readJSON parses journalctl -o json (one object per line; -o json-seq's
// record separators are tolerated). A value is a string, an array of byte
// values (binary or invalid UTF-8), null (a field journalctl left out
// without --all), or an array of those for a field the entry repeats, of
// which the first counts. Lines longer than 4*MaxFieldSize are skipped as
// malformed. It calls emit for each entry with a MESSAGE, with
// Unit holding _SYSTEMD_UNIT, and skip for each malformed line.
func readJSON(lr *lineReader, emit func(*record.Entry) error, skip func(line int, err error)) error {
	// A MESSAGE of MaxFieldSize bytes written as an array of numbers takes
	// up to four bytes per byte; longer lines are cut and then fail to parse.
	lr.max = 4*MaxFieldSize + 64<<10
	var p entryBuilder
	for {
		line, err := lr.next()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return fmt.Errorf("read json input: %w", err)
		}
		line = bytes.Trim(line, " \t\r\x1e")
		if len(line) == 0 {
			continue
		}
		var je jsonEntry
		if err := json.Unmarshal(line, &je); err != nil {
			skip(lr.line, fmt.Errorf("parse json entry: %w", err))
			continue
		}
		p.reset()
		if err := p.jsonFields(&je); err != nil {
			skip(lr.line, err)
			continue
		}
		if !p.hasMessage {
			if je.Message != nil { // "MESSAGE": null
				skip(lr.line, errNoMessage)
			}
			continue
		}
		if err := emit(&p.e); err != nil {
			return err
		}
	}
}

func (p *entryBuilder) jsonFields(je *jsonEntry) error {
	for _, f := range []struct {
		name string
		raw  json.RawMessage
	}{
		{"MESSAGE", je.Message},
		{"__REALTIME_TIMESTAMP", je.Realtime},
		{"__CURSOR", je.Cursor},
		{"PRIORITY", je.Priority},
		{"_SYSTEMD_UNIT", je.Unit},
		{"SYSLOG_IDENTIFIER", je.Identifier},
		{"TARGET", je.Target},
		{"_PID", je.PID},
		{"_HOSTNAME", je.Host},
		{"_BOOT_ID", je.BootID},
	} {
		if f.raw == nil {
			continue
		}
		v, ok, err := jsonValue(f.raw, true)
		if err != nil {
			return fmt.Errorf("field %s: %w", f.name, err)
		}
		if !ok {
			continue
		}
		if err := p.field([]byte(f.name), v); err != nil {
			return err
		}
	}
	return nil
}

var errJSONValue = errors.New("want a string, an array of bytes or an array of values")

// jsonValue decodes one field value; ok is false for null. nested allows
// the array of values of a repeated field (whose first element counts).
func jsonValue(raw json.RawMessage, nested bool) (v []byte, ok bool, err error) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 {
		return nil, false, errJSONValue
	}
	switch raw[0] {
	case 'n':
		return nil, false, nil
	case '"':
		var s string
		if err := json.Unmarshal(raw, &s); err != nil {
			return nil, false, err
		}
		return []byte(s), true, nil
	case '[':
		inner := bytes.TrimLeft(raw[1:], " \t\r\n")
		if len(inner) > 0 && ('0' <= inner[0] && inner[0] <= '9' || inner[0] == ']') {
			b, err := byteArray(raw)
			return b, err == nil, err
		}
		if !nested {
			return nil, false, errJSONValue
		}
		var elems []json.RawMessage
		if err := json.Unmarshal(raw, &elems); err != nil {
			return nil, false, err
		}
		return jsonValue(elems[0], false)
	case '-', '0', '1', '2', '3', '4', '5', '6', '7', '8', '9':
		// A number where journalctl writes strings: take its text.
		var n json.Number
		if err := json.Unmarshal(raw, &n); err != nil {
			return nil, false, err
		}
		return []byte(n), true, nil
	}
	return nil, false, errJSONValue
}

// byteArray decodes a JSON array of numbers 0-255.
func byteArray(raw []byte) ([]byte, error) {
	out := make([]byte, 0, len(raw)/3)
	i := 1 // after '['
	skipSpace := func() {
		for i < len(raw) && (raw[i] == ' ' || raw[i] == '\t' || raw[i] == '\r' || raw[i] == '\n') {
			i++
		}
	}
	skipSpace()
	if i < len(raw) && raw[i] == ']' {
		i++
		skipSpace()
		if i != len(raw) {
			return nil, errJSONValue
		}
		return out, nil
	}
	for {
		skipSpace()
		n, digits := 0, 0
		for i < len(raw) && '0' <= raw[i] && raw[i] <= '9' && digits < 4 {
			n = n*10 + int(raw[i]-'0')
			i++
			digits++
		}
		if digits == 0 || n > 255 {
			return nil, fmt.Errorf("byte array: bad element at offset %d", i)
		}
		out = append(out, byte(n))
		skipSpace()
		if i >= len(raw) {
			return nil, errJSONValue
		}
		switch raw[i] {
		case ',':
			i++
		case ']':
			i++
			skipSpace()
			if i != len(raw) {
				return nil, errJSONValue
			}
			return out, nil
		default:
			return nil, fmt.Errorf("byte array: bad element at offset %d", i)
		}
	}
}
