package web

import "github.com/prometheus/client_golang/prometheus"

// Metrics are the web tier's Prometheus metrics.
type Metrics struct {
	webhooks *prometheus.CounterVec
	accept   *prometheus.HistogramVec
}

// NewMetrics registers the web metrics with reg.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		webhooks: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "trackd_webhooks_total",
			Help: "Webhook requests by carrier and result: accepted, or the reason they were rejected.",
		}, []string{"carrier", "result"}),
		accept: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "trackd_webhook_accept_seconds",
			Help:    "Time to verify, validate and durably append an accepted webhook.",
			Buckets: prometheus.ExponentialBuckets(0.0001, 2, 16),
		}, []string{"carrier"}),
	}
	reg.MustRegister(m.webhooks, m.accept)
	return m
}
