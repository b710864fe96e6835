import Histogram

/// Collects latencies in nanoseconds in an HdrHistogram and summarises them in microseconds.
struct LatencyRecorder: Sendable {
    private var histogram: Histogram<UInt64>

    /// Tracks 1 ns … 1 h with 3 significant digits.
    init() {
        histogram = Histogram<UInt64>(
            lowestDiscernibleValue: 1,
            highestTrackableValue: 3_600_000_000_000,
            numberOfSignificantValueDigits: .three
        )
    }

    var count: UInt64 { histogram.totalCount }

    @inline(__always)
    mutating func record(nanoseconds: UInt64) {
        histogram.record(Swift.max(nanoseconds, 1))
    }

    mutating func add(_ other: LatencyRecorder) {
        histogram.add(other.histogram)
    }

    /// p50/p99/p999/max in µs, or `nil` when nothing was recorded.
    var summary: LatencySummary? {
        guard histogram.totalCount > 0 else { return nil }
        return LatencySummary(
            p50: Double(histogram.valueAtPercentile(50)) / 1000,
            p99: Double(histogram.valueAtPercentile(99)) / 1000,
            p999: Double(histogram.valueAtPercentile(99.9)) / 1000,
            max: Double(histogram.max) / 1000
        )
    }
}
