package tui

import "strings"

// The menu's search: an asset matches when every word of the query is in
// its name, address, comment, node, platform or labels, or when the
// query is its ID. The matches are ranked so that what she most likely
// means comes first — digits are in every address and port, so "1" or
// "web1" must not put 10.0.0.1 before web1 — and, within a rank, kept
// in natural name order.
const (
	rankID         = iota // the query is the asset's ID (KoKo: a number and Enter)
	rankNamePrefix        // the name starts with the query
	rankName              // every word is in the name
	rankOther             // a word is only in the address, comment, node…
	numRanks
)

// query is the search text as the filter uses it.
type query struct {
	text  string   // as typed
	terms []string // lower-cased words
	id    string   // the text when it is an asset ID (digits only), or ""
}

func parseQuery(s string) query {
	q := query{text: s, terms: strings.Fields(strings.ToLower(s))}
	if len(q.terms) == 1 && isID(q.terms[0]) {
		q.id = strings.TrimLeft(q.terms[0], "0")
	}
	return q
}

// isID reports whether s can be an asset ID: 1 to 19 ASCII digits.
func isID(s string) bool {
	if s == "" || len(s) > 19 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// matches reports whether the item passes the query (node scope aside).
func (q query) matches(it *item) bool {
	if q.id != "" && it.id == q.id {
		return true
	}
	for _, t := range q.terms {
		if !strings.Contains(it.search, t) {
			return false
		}
	}
	return true
}

// rank returns where a matching item goes: see rankID and the others.
func (q query) rank(it *item) int {
	switch {
	case len(q.terms) == 0:
		return rankName
	case q.id != "" && it.id == q.id:
		return rankID
	case strings.HasPrefix(it.name, strings.Join(q.terms, " ")):
		return rankNamePrefix
	}
	for _, t := range q.terms {
		if !strings.Contains(it.name, t) {
			return rankOther
		}
	}
	return rankName
}

// rankSort orders matches (indices into items, which are in name order)
// by rank, keeping name order within a rank. It runs in linear time
// after sorting the indices, so that typing stays fluid with 10,000
// assets.
func rankSort(items []item, matches []int, q query) []int {
	if len(q.terms) == 0 || len(matches) < 2 {
		return matches
	}
	var buckets [numRanks][]int
	for _, i := range matches {
		r := q.rank(&items[i])
		buckets[r] = append(buckets[r], i)
	}
	out := matches[:0]
	for _, b := range buckets {
		out = append(out, b...)
	}
	return out
}

// naturalCompare compares strings as people sort names: runs of digits
// by their value ("web2" before "web10"), the rest byte by byte.
func naturalCompare(a, b string) int {
	i, j := 0, 0
	for i < len(a) && j < len(b) {
		ca, cb := a[i], b[j]
		if isDigit(ca) && isDigit(cb) {
			si, sj := i, j
			for i < len(a) && isDigit(a[i]) {
				i++
			}
			for j < len(b) && isDigit(b[j]) {
				j++
			}
			da := strings.TrimLeft(a[si:i], "0")
			db := strings.TrimLeft(b[sj:j], "0")
			if len(da) != len(db) {
				return cmpInt(len(da), len(db))
			}
			if c := strings.Compare(da, db); c != 0 {
				return c
			}
			// Same value: fewer leading zeros first ("web1" before "web01").
			if c := cmpInt(i-si, j-sj); c != 0 {
				return c
			}
			continue
		}
		if ca != cb {
			return cmpInt(int(ca), int(cb))
		}
		i++
		j++
	}
	return cmpInt(len(a)-i, len(b)-j)
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

func cmpInt(a, b int) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}
