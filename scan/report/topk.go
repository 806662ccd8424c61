package report

import (
	"cmp"
	"container/heap"
	"slices"
	"strings"
)

// topK counts keys in at most capacity counters with the Space-Saving
// algorithm (Metwally et al.): a new key evicts the least frequent one and
// inherits its count as an overestimate. Keys more frequent than n/capacity
// are always kept, and exact while the number of distinct keys stays below
// capacity.
type topK struct {
	capacity int
	byKey    map[string]*topItem
	heap     topHeap
}

type topItem struct {
	key   string
	value string // what to show, e.g. the template without the unit
	unit  string
	count uint64
	over  uint64 // count may overstate by up to this much
	pos   int
}

func newTopK(capacity int) *topK {
	return &topK{capacity: capacity, byKey: make(map[string]*topItem)}
}

// add counts one occurrence of unit+value.
func (t *topK) add(unit, value string) {
	key := unit + "\x00" + value
	if it, ok := t.byKey[key]; ok {
		it.count++
		heap.Fix(&t.heap, it.pos)
		return
	}
	if len(t.heap) < t.capacity {
		it := &topItem{key: key, unit: strings.Clone(unit), value: strings.Clone(value), count: 1}
		t.byKey[key] = it
		heap.Push(&t.heap, it)
		return
	}
	it := t.heap[0]
	delete(t.byKey, it.key)
	it.key, it.unit, it.value = key, strings.Clone(unit), strings.Clone(value)
	it.over = it.count
	it.count++
	t.byKey[key] = it
	heap.Fix(&t.heap, 0)
}

// top returns the n most frequent items, by count then unit and value.
func (t *topK) top(n int) []topItem {
	items := make([]topItem, 0, len(t.heap))
	for _, it := range t.heap {
		items = append(items, *it)
	}
	slices.SortFunc(items, func(a, b topItem) int {
		return cmp.Or(cmp.Compare(b.count, a.count), strings.Compare(a.unit, b.unit), strings.Compare(a.value, b.value))
	})
	return items[:min(n, len(items))]
}

// distinct returns how many keys are tracked.
func (t *topK) distinct() int { return len(t.heap) }

// topHeap is a min-heap on count.
type topHeap []*topItem

func (h topHeap) Len() int           { return len(h) }
func (h topHeap) Less(i, j int) bool { return h[i].count < h[j].count }
func (h topHeap) Swap(i, j int) {
	h[i], h[j] = h[j], h[i]
	h[i].pos, h[j].pos = i, j
}
func (h *topHeap) Push(x any) {
	it := x.(*topItem)
	it.pos = len(*h)
	*h = append(*h, it)
}
func (h *topHeap) Pop() any {
	old := *h
	it := old[len(old)-1]
	*h = old[:len(old)-1]
	return it
}
