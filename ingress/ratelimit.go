package ingress

import (
	"strconv"
	"sync"
	"time"

	"golang.org/x/time/rate"

	"github.com/hookflow/hookflow/ingress/integrations"
)

// OptionRateLimit is the integration option that sets its request rate
// limit per second; "0" disables the limit for that integration.
const OptionRateLimit = "rate_limit"

// limiters holds one token bucket per integration.
type limiters struct {
	def float64
	mu  sync.Mutex
	m   map[string]*limiter
}

type limiter struct {
	perSec float64
	l      *rate.Limiter
}

func newLimiters(def float64) *limiters { return &limiters{def: def, m: map[string]*limiter{}} }

// allow takes a token for in, or says how long to wait for one.
func (ls *limiters) allow(in integrations.Integration, now time.Time) (time.Duration, bool) {
	perSec := ls.def
	if opt, ok := in.Options[OptionRateLimit]; ok {
		if v, err := strconv.ParseFloat(opt, 64); err == nil && v >= 0 {
			perSec = v
		}
	}
	if perSec == 0 {
		return 0, true
	}
	ls.mu.Lock()
	l := ls.m[in.ID]
	if l == nil || l.perSec != perSec {
		l = &limiter{perSec: perSec, l: rate.NewLimiter(rate.Limit(perSec), max(1, int(2*perSec)))}
		ls.m[in.ID] = l
	}
	ls.mu.Unlock()
	r := l.l.ReserveN(now, 1)
	if d := r.DelayFrom(now); d > 0 {
		r.CancelAt(now)
		return d, false
	}
	return 0, true
}
