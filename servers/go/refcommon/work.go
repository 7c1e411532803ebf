package refcommon

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"sync"
)

// The work behind each endpoint: the same algorithms as rust/common/src/work.rs and
// django/refserver/work.py.

const (
	ComputeCap = 10_000_000
	PayloadCap = 100_000
	FibCap     = 40
	HashCap    = 100_000
)

// HashSeed is the input of /hash.
var HashSeed = []byte("podmeter")

// IntParam reads the non-negative integer query parameter name (the first
// occurrence wins), or def when absent. Errors are the {"error": …} texts.
func IntParam(rawQuery, name string, def, limit uint64) (uint64, error) {
	raw, ok := queryValue(rawQuery, name)
	if !ok {
		return def, nil
	}
	digits := strings.TrimPrefix(raw, "-")
	if digits == "" || strings.TrimLeft(digits, "0123456789") != "" {
		return 0, fmt.Errorf("%s must be an integer", name)
	}
	if digits != raw && strings.Trim(digits, "0") != "" {
		return 0, fmt.Errorf("%s must not be negative", name)
	}
	value, err := strconv.ParseUint(digits, 10, 64)
	if err != nil || value > limit {
		return 0, fmt.Errorf("%s must be at most %d", name, limit)
	}
	return value, nil
}

// queryValue decodes form-urlencoded pairs like the Rust and Django servers:
// split on '&' only, and an invalid escape is kept as written.
func queryValue(rawQuery, name string) (string, bool) {
	for pair := range strings.SplitSeq(rawQuery, "&") {
		if pair == "" {
			continue
		}
		key, value, _ := strings.Cut(pair, "=")
		if unescape(key) == name {
			return unescape(value), true
		}
	}
	return "", false
}

func unescape(s string) string {
	if decoded, err := url.QueryUnescape(s); err == nil {
		return decoded
	}
	return s
}

// CountPrimes counts primes <= n by trial division up to the square root of each k.
func CountPrimes(n uint64) uint64 {
	var count uint64
	for k := uint64(2); k <= n; k++ {
		prime := true
		for d := uint64(2); d*d <= k; d++ {
			if k%d == 0 {
				prime = false
				break
			}
		}
		if prime {
			count++
		}
	}
	return count
}

// Fib is naive recursive Fibonacci: fib(0) = 0, fib(1) = 1.
func Fib(n uint64) uint64 {
	if n < 2 {
		return n
	}
	return Fib(n-1) + Fib(n-2)
}

// HashRounds applies SHA-256 rounds times to hashSeed and returns lowercase hex.
func HashRounds(rounds uint64) string {
	data := HashSeed
	for range rounds {
		sum := sha256.Sum256(data)
		data = sum[:]
	}
	return hex.EncodeToString(data)
}

type Item struct {
	ID    uint64    `json:"id"`
	Name  string    `json:"name"`
	Value uint64    `json:"value"`
	Tags  [2]string `json:"tags"`
}

// Payload returns the size deterministic objects of /payload.
func Payload(size uint64) []Item {
	items := make([]Item, size)
	for i := range size {
		items[i] = Item{
			ID:    i,
			Name:  "item-" + strconv.FormatUint(i, 10),
			Value: i * 7919 % 10007,
			Tags:  [2]string{"tag-" + strconv.FormatUint(i%5, 10), "group-" + strconv.FormatUint(i%3, 10)},
		}
	}
	return items
}

const (
	SnowflakeEpochMs = 1_704_067_200_000 // 2024-01-01T00:00:00Z
	MachineIDMax     = 1023
)

// Snowflake makes 63-bit ids: 41 bits of milliseconds since the epoch, 10 bits
// machine id, 12 bits sequence. When 4096 ids are taken in one millisecond the
// next ones borrow the following millisecond instead of sleeping, so ids stay
// unique and increasing even if the clock goes back.
type Snowflake struct {
	MachineID uint64
	mu        sync.Mutex
	lastMs    uint64 // guarded by mu
	seq       uint64 // guarded by mu
}

// Next returns the next id, given the wall clock in milliseconds since the Unix epoch.
func (s *Snowflake) Next(nowUnixMs uint64) uint64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := max(nowUnixMs, SnowflakeEpochMs) - SnowflakeEpochMs
	switch {
	case now > s.lastMs:
		s.lastMs, s.seq = now, 0
	case s.seq < 4095:
		s.seq++
	default:
		s.lastMs, s.seq = s.lastMs+1, 0
	}
	return s.lastMs<<22 | s.MachineID<<12 | s.seq
}
