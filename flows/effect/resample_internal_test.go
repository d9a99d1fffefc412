package effect

import "testing"

// BenchmarkResample: one cohort of a 3 000-customer stratum, 1 000 resamples; ns per
// draw is what the chain report's bootstrap costs per included customer and resample.
func BenchmarkResample(b *testing.B) {
	xs := make([][5]float64, 3000)
	for i := range xs {
		xs[i] = [5]float64{float64(i%7) / 7, float64(i % 2), float64(i % 13), float64(i % 5), 1}
	}
	out := make([]sum5, 1000)
	r := newRNG(1)
	b.ResetTimer()
	for b.Loop() {
		resample(&r, xs, out)
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(len(xs)*len(out)), "ns/draw")
}
