package templates

import (
	"testing"

	"github.com/trackd/trackd/notify"
)

// BenchmarkRender renders every shipped template of a channel in turn, as
// the notifier does: compiled once, rendered for each message.
func BenchmarkRender(b *testing.B) {
	e := NewEngine(DefaultLimits())
	defaults := loadDefaults(b)
	for _, channel := range notify.Channels {
		b.Run(string(channel), func(b *testing.B) {
			type job struct {
				p Parts
				d Data
			}
			var jobs []job
			for _, locale := range notify.Locales {
				for _, trigger := range notify.Triggers {
					p, _ := defaults.Get(trigger, channel, locale)
					jobs = append(jobs, job{p, SampleForTrigger(locale, trigger)})
				}
			}
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; b.Loop(); i++ {
				j := jobs[i%len(jobs)]
				if _, err := e.Render(channel, j.p, j.d); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
