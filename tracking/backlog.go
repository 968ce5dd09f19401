package tracking

import (
	"context"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Backlog is how much accepted work the processors have not finished.
type Backlog struct {
	// Entries waiting in all ingest shards (acknowledged entries are
	// deleted, so the streams hold only unfinished work).
	Entries int64
	// Oldest is the age of the oldest waiting entry: the processors' lag.
	Oldest time.Duration
}

// Backlog measures the ingest backlog.
func (s *Store) Backlog(ctx context.Context, now time.Time) (Backlog, error) {
	var b Backlog
	for shard := range s.cfg.Shards {
		key := s.IngestKey(shard)
		n, err := s.rdb.XLen(ctx, key).Result()
		if err != nil {
			return b, err
		}
		b.Entries += n
		if n == 0 {
			continue
		}
		first, err := s.rdb.XRangeN(ctx, key, "-", "+", 1).Result()
		if err != nil {
			return b, err
		}
		if len(first) == 1 {
			ms, _ := strconv.ParseInt(strings.SplitN(first[0].ID, "-", 2)[0], 10, 64)
			b.Oldest = max(b.Oldest, now.Sub(time.UnixMilli(ms)))
		}
	}
	return b, nil
}

// BacklogCollector exports the backlog on every scrape, read from Redis, so
// it is right whichever node's processors are behind.
type BacklogCollector struct {
	store          *Store
	entries, delay *prometheus.Desc
}

// NewBacklogCollector returns a collector for store's backlog.
func NewBacklogCollector(store *Store) *BacklogCollector {
	return &BacklogCollector{
		store:   store,
		entries: prometheus.NewDesc("trackd_ingest_backlog", "Accepted webhooks not yet applied, in all ingest shards.", nil, nil),
		delay:   prometheus.NewDesc("trackd_ingest_oldest_seconds", "Age of the oldest accepted webhook not yet applied.", nil, nil),
	}
}

// Describe implements prometheus.Collector.
func (c *BacklogCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- c.entries
	ch <- c.delay
}

// Collect implements prometheus.Collector.
func (c *BacklogCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	b, err := c.store.Backlog(ctx, time.Now())
	if err != nil {
		ch <- prometheus.NewInvalidMetric(c.entries, err)
		return
	}
	ch <- prometheus.MustNewConstMetric(c.entries, prometheus.GaugeValue, float64(b.Entries))
	ch <- prometheus.MustNewConstMetric(c.delay, prometheus.GaugeValue, b.Oldest.Seconds())
}
