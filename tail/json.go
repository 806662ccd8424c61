package tail

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"

	"github.com/centra-cloud/cflogd/record"
)

// readJSON parses journalctl -o json (one object per line; -o json-seq's
// record separators are tolerated). A value is a string, an array of byte
// values (binary or invalid UTF-8), null (a field journalctl left out
// without --all), or an array of those for a field the entry repeats, of
// which the first counts. Lines longer than 4*MaxFieldSize are skipped as
// malformed. It calls emit for each entry with a MESSAGE, resolved as
// readExport does, and skip for each malformed line. A field cflogd does
// not use may hold any JSON value.
func readJSON(lr *lineReader, sel *fieldSel, emit func(*record.Entry) error, skip func(line int, err error)) error {
	// A MESSAGE of MaxFieldSize bytes written as an array of numbers takes
	// up to four bytes per byte; longer lines are cut and then fail to parse.
	lr.max = 4*MaxFieldSize + 64<<10
	p := entryBuilder{sel: sel}
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
		p.reset()
		nullMessage, err := p.jsonFields(line)
		if err != nil {
			skip(lr.line, err)
			continue
		}
		if !p.hasMessage {
			if nullMessage { // "MESSAGE": null
				skip(lr.line, errNoMessage)
			}
			continue
		}
		if !p.resolve() {
			continue
		}
		if err := emit(&p.e); err != nil {
			return err
		}
	}
}

// jsonFields walks the members of one JSON object in order and takes the
// fields cflogd uses; nullMessage reports "MESSAGE": null.
func (p *entryBuilder) jsonFields(line []byte) (nullMessage bool, err error) {
	dec := json.NewDecoder(bytes.NewReader(line))
	dec.UseNumber()
	if t, err := dec.Token(); err != nil || t != json.Delim('{') {
		return false, fmt.Errorf("parse json entry: want an object")
	}
	var raw json.RawMessage
	for dec.More() {
		t, err := dec.Token()
		if err != nil {
			return false, fmt.Errorf("parse json entry: %w", err)
		}
		name, _ := t.(string)
		raw = raw[:0]
		if err := dec.Decode(&raw); err != nil {
			return false, fmt.Errorf("parse json entry: %w", err)
		}
		if !validFieldName([]byte(name)) {
			continue
		}
		used := jsonUsed[name] || p.sel.want[name] || p.sel.isEvent(name)
		if !used {
			continue
		}
		if raw = bytes.TrimSpace(raw); !jsonUsed[name] && p.sel.isEvent(name) && raw[0] == '[' && !isByteArray(raw) {
			// A repeated event field: each value counts (span fields of
			// tracing-journald 0.3 share the event's prefix).
			var elems []json.RawMessage
			if json.Unmarshal(raw, &elems) == nil {
				for _, el := range elems {
					if v, ok, err := jsonValue(el, false); err == nil && ok {
						p.extra([]byte(name), v)
					}
				}
			}
			continue
		}
		v, ok, err := jsonValue(raw, true)
		if err != nil {
			if jsonUsed[name] {
				return false, fmt.Errorf("field %s: %w", name, err)
			}
			continue // an event or journal field with another JSON value
		}
		if !ok {
			nullMessage = nullMessage || name == "MESSAGE"
			continue
		}
		if err := p.field([]byte(name), v); err != nil {
			return false, err
		}
	}
	if t, err := dec.Token(); err != nil || t != json.Delim('}') {
		return false, fmt.Errorf("parse json entry: unterminated object")
	}
	if _, err := dec.Token(); err != io.EOF {
		return false, fmt.Errorf("parse json entry: data after the object")
	}
	return nullMessage, nil
}

// isByteArray reports whether the JSON array raw is one of bytes (or
// empty), not of values (a repeated field).
func isByteArray(raw []byte) bool {
	inner := bytes.TrimLeft(raw[1:], " \t\r\n")
	return len(inner) == 0 || '0' <= inner[0] && inner[0] <= '9' || inner[0] == ']'
}

// jsonUsed are the fields entryBuilder.field decodes itself.
var jsonUsed = map[string]bool{
	"MESSAGE": true, "__REALTIME_TIMESTAMP": true, "__CURSOR": true, "PRIORITY": true,
	"_SYSTEMD_UNIT": true, "SYSLOG_IDENTIFIER": true, "TARGET": true, "_PID": true,
	"_HOSTNAME": true, "_BOOT_ID": true,
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
		if isByteArray(raw) {
			var b []byte // encoding/json decodes an array of numbers 0-255 into it
			err := json.Unmarshal(raw, &b)
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
