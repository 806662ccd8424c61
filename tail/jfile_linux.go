//go:build linux && cgo

package tail

import (
	"bytes"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"sort"
	"strconv"

	"golang.org/x/sys/unix"
)

// This file reads systemd's journal file format directly (see systemd's
// docs/JOURNAL_FILE_FORMAT.md): a read-only shared mapping of one file,
// its entries in the order of the file's main entry array, and the DATA
// objects they point to. It is what the native follower reads with; it
// never writes and trusts nothing it reads: every offset and size is
// checked against the mapping, and a fault on the mapping (a file cut
// short under us) is turned into an error by the caller.

// Journal file header offsets (all little endian).
const (
	jhSignature      = 0
	jhIncompatible   = 12
	jhState          = 16
	jhSeqnumID       = 72
	jhHeaderSize     = 88
	jhNEntries       = 152
	jhEntryArray     = 176
	jhMinHeaderBytes = 208 // the header of systemd 187, the oldest readable
)

// Incompatible header flags.
const (
	jfCompressedXZ   = 1 << 0
	jfCompressedLZ4  = 1 << 1
	jfKeyedHash      = 1 << 2
	jfCompressedZSTD = 1 << 3
	jfCompact        = 1 << 4
	jfKnown          = jfCompressedXZ | jfCompressedLZ4 | jfKeyedHash | jfCompressedZSTD | jfCompact
)

// Object types and flags.
const (
	objData       = 1
	objEntry      = 3
	objEntryArray = 6

	objCompressedMask = 1 | 2 | 4 // XZ, LZ4, ZSTD

	objHeaderBytes = 16
	entryItems     = 64 // offset of an ENTRY's items
	arrayItems     = 24 // offset of an ENTRY_ARRAY's items
)

// File states.
const (
	jsArchived = 2
)

// errUnsupported marks a journal file the native reader cannot read; the
// follower reads it through sd-journal instead.
var errUnsupported = errors.New("unsupported journal file")

// jarray is one ENTRY_ARRAY object of a file's main chain.
type jarray struct {
	off  uint64 // object offset
	base uint64 // index of its first item in the file's entry order
	n    uint64 // capacity in items
}

// jfile is one journal file, mapped read-only.
type jfile struct {
	path    string
	f       *os.File
	data    []byte
	retired [][]byte // earlier mappings, unmapped by release
	seqnum  [16]byte // the file's sequence number ID
	compact bool
	// cursorPrefix is "s=<seqnum ID>;i=", the start of every cursor.
	cursorPrefix string
	arrays       []jarray // the main entry array chain as far as followed

	// k is the index of the next entry to read; next caches its key.
	k       uint64
	next    jkey
	nextOK  bool
	nextOff uint64
	done    bool // archived or deleted, and read to the end

	// slots caches DATA objects for the native reader (nil until used);
	// bootHex is the hex of bootKey, the last entry boot ID formatted.
	slots   []dataSlot
	bootKey [16]byte
	bootHex string
}

// openJFile maps a journal file and checks its header.
func openJFile(path string) (*jfile, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	j := &jfile{path: path, f: f}
	if err := j.remap(); err != nil {
		f.Close()
		return nil, err
	}
	if err := j.checkHeader(); err != nil {
		j.close()
		return nil, err
	}
	return j, nil
}

// remap maps the whole file again when it has grown.
func (j *jfile) remap() error {
	st, err := j.f.Stat()
	if err != nil {
		return err
	}
	size := st.Size()
	if size < jhMinHeaderBytes {
		return fmt.Errorf("%s: %w: %d bytes, shorter than a header", j.path, errUnsupported, size)
	}
	if int64(len(j.data)) == size {
		return nil
	}
	data, err := unix.Mmap(int(j.f.Fd()), 0, int(size), unix.PROT_READ, unix.MAP_SHARED)
	if err != nil {
		return fmt.Errorf("map %s: %w", j.path, err)
	}
	if j.data != nil {
		// Slices of the old mapping may still be in use by the caller;
		// it is unmapped by release.
		j.retired = append(j.retired, j.data)
	}
	j.data = data
	return nil
}

// release unmaps the mappings remap replaced; no slice of them may be in
// use.
func (j *jfile) release() {
	for _, d := range j.retired {
		unix.Munmap(d)
	}
	clear(j.retired)
	j.retired = j.retired[:0]
}

func (j *jfile) checkHeader() error {
	if !bytes.Equal(j.data[jhSignature:jhSignature+8], []byte("LPKSHHRH")) {
		return fmt.Errorf("%s: %w: bad signature", j.path, errUnsupported)
	}
	inc := binary.LittleEndian.Uint32(j.data[jhIncompatible:])
	if inc&^jfKnown != 0 {
		return fmt.Errorf("%s: %w: incompatible flags %#x", j.path, errUnsupported, inc)
	}
	if hs := j.u64(jhHeaderSize); hs < jhMinHeaderBytes || hs > uint64(len(j.data)) {
		return fmt.Errorf("%s: %w: header size %d", j.path, errUnsupported, hs)
	}
	j.compact = inc&jfCompact != 0
	copy(j.seqnum[:], j.data[jhSeqnumID:jhSeqnumID+16])
	j.cursorPrefix = "s=" + hex.EncodeToString(j.data[jhSeqnumID:jhSeqnumID+16]) + ";i="
	return nil
}

func (j *jfile) close() {
	j.release()
	if j.data != nil {
		unix.Munmap(j.data)
		j.data = nil
	}
	if j.f != nil {
		j.f.Close()
		j.f = nil
	}
}

func (j *jfile) u64(off uint64) uint64 { return binary.LittleEndian.Uint64(j.data[off:]) }
func (j *jfile) u32(off uint64) uint64 { return uint64(binary.LittleEndian.Uint32(j.data[off:])) }

func (j *jfile) state() byte      { return j.data[jhState] }
func (j *jfile) nEntries() uint64 { return j.u64(jhNEntries) }

// object returns the object at off, which must have type typ and at least
// min bytes; it maps the file again when the object lies beyond the
// mapping (the file grew).
func (j *jfile) object(off uint64, typ byte, min uint64) ([]byte, error) {
	if off%8 != 0 || off < jhMinHeaderBytes {
		return nil, fmt.Errorf("%s: bad object offset %d", j.path, off)
	}
	var size uint64
	for remapped := false; ; remapped = true {
		if n := uint64(len(j.data)); off+objHeaderBytes <= n {
			if size = j.u64(off + 8); size <= n-off {
				break
			}
		}
		if remapped {
			return nil, fmt.Errorf("%s: object at %d (of %d bytes) beyond the file's %d bytes", j.path, off, size, len(j.data))
		}
		if err := j.remap(); err != nil {
			return nil, err
		}
	}
	if j.data[off] != typ || size < min {
		return nil, fmt.Errorf("%s: object at %d: type %d of %d bytes, want type %d of at least %d bytes", j.path, off, j.data[off], size, typ, min)
	}
	return j.data[off : off+size], nil
}

// entryOffset returns the offset of entry k (k < nEntries), following the
// main entry array chain as far as needed.
func (j *jfile) entryOffset(k uint64) (uint64, error) {
	i := sort.Search(len(j.arrays), func(i int) bool { return j.arrays[i].base+j.arrays[i].n > k })
	for i == len(j.arrays) {
		var off, base uint64
		if len(j.arrays) == 0 {
			off = j.u64(jhEntryArray)
		} else {
			last := j.arrays[len(j.arrays)-1]
			o, err := j.object(last.off, objEntryArray, arrayItems)
			if err != nil {
				return 0, err
			}
			off = binary.LittleEndian.Uint64(o[16:])
			base = last.base + last.n
			if off != 0 && off <= last.off {
				// Arrays are appended to the file, so the chain only goes
				// forward; anything else is corruption (and could loop).
				return 0, fmt.Errorf("%s: entry array at %d links back to %d", j.path, last.off, off)
			}
		}
		if off == 0 {
			return 0, fmt.Errorf("%s: entry %d missing from the entry array chain", j.path, k)
		}
		o, err := j.object(off, objEntryArray, arrayItems)
		if err != nil {
			return 0, err
		}
		n := (uint64(len(o)) - arrayItems) / j.arrayItemSize()
		if n == 0 {
			return 0, fmt.Errorf("%s: empty entry array at %d", j.path, off)
		}
		j.arrays = append(j.arrays, jarray{off: off, base: base, n: n})
		i = len(j.arrays)
		if base+n > k {
			i--
		}
	}
	a := j.arrays[i]
	item := a.off + arrayItems + (k-a.base)*j.arrayItemSize()
	if j.compact {
		return j.u32(item), nil
	}
	return j.u64(item), nil
}

func (j *jfile) arrayItemSize() uint64 {
	if j.compact {
		return 4
	}
	return 8
}

// entry returns the ENTRY object at off.
func (j *jfile) entry(off uint64) ([]byte, error) {
	return j.object(off, objEntry, entryItems)
}

// key reads the ordering fields of an ENTRY object.
func (j *jfile) key(o []byte) jkey {
	k := jkey{seqnumID: j.seqnum}
	k.seqnum = binary.LittleEndian.Uint64(o[16:])
	k.realtime = binary.LittleEndian.Uint64(o[24:])
	k.mono = binary.LittleEndian.Uint64(o[32:])
	copy(k.boot[:], o[40:56])
	k.xor = binary.LittleEndian.Uint64(o[56:])
	return k
}

// keyAt returns the key and the offset of entry k.
func (j *jfile) keyAt(k uint64) (jkey, uint64, error) {
	off, err := j.entryOffset(k)
	if err != nil {
		return jkey{}, 0, err
	}
	o, err := j.entry(off)
	if err != nil {
		return jkey{}, 0, err
	}
	return j.key(o), off, nil
}

// search returns the first entry index in [0, nEntries) for which after
// is true, assuming after is false then true in entry order (as sd-journal
// does when it bisects); nEntries when there is none.
func (j *jfile) search(after func(*jkey) bool) (uint64, error) {
	var ferr error
	n := j.nEntries()
	k := sort.Search(int(n), func(i int) bool {
		if ferr != nil {
			return true
		}
		key, _, err := j.keyAt(uint64(i))
		if err != nil {
			ferr = err
			return true
		}
		return after(&key)
	})
	return uint64(k), ferr
}

// peekNext loads the key of entry k when it is committed.
func (j *jfile) peekNext() (ok bool, err error) {
	if !j.nextOK && j.k < j.nEntries() {
		j.next, j.nextOff, err = j.keyAt(j.k)
		j.nextOK = err == nil
	}
	return j.nextOK, err
}

// payload returns the payload ("FIELD=value") of the DATA object at off and
// whether it is compressed.
func (j *jfile) payload(off uint64) ([]byte, bool, error) {
	start := uint64(64)
	if j.compact {
		start = 72
	}
	o, err := j.object(off, objData, start)
	if err != nil {
		return nil, false, err
	}
	return o[start:], o[1]&objCompressedMask != 0, nil
}

// item returns the offset of item i of an ENTRY object.
func (j *jfile) item(o []byte, i int) uint64 {
	if j.compact {
		return uint64(binary.LittleEndian.Uint32(o[entryItems+4*i:]))
	}
	return binary.LittleEndian.Uint64(o[entryItems+16*i:])
}

// nItems is the number of items of an ENTRY object.
func (j *jfile) nItems(o []byte) int {
	if j.compact {
		return (len(o) - entryItems) / 4
	}
	return (len(o) - entryItems) / 16
}

// appendCursor appends the cursor of the entry with key k of a file whose
// cursors begin with prefix ("s=<seqnum ID>;i=").
func appendCursor(b []byte, prefix string, k *jkey) []byte {
	b = append(b, prefix...)
	b = strconv.AppendUint(b, k.seqnum, 16)
	b = append(b, ";b="...)
	b = hex.AppendEncode(b, k.boot[:])
	b = append(b, ";m="...)
	b = strconv.AppendUint(b, k.mono, 16)
	b = append(b, ";t="...)
	b = strconv.AppendUint(b, k.realtime, 16)
	b = append(b, ";x="...)
	return strconv.AppendUint(b, k.xor, 16)
}
