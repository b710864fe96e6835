/// Whole nanoseconds of durations, for window and bucket arithmetic on integers.
///
/// Every position the operators compute with fits an `Int64` of nanoseconds (±292 years); values
/// beyond that saturate instead of trapping.
@usableFromInline
enum DurationMath {
    /// The largest magnitude of a window position: far enough from `Int64` limits that adding a
    /// span (at most ``maxSpan``) can never overflow. About year 2225 for Unix-epoch event times.
    @usableFromInline static let maxPosition: Int64 = .max - (1 << 60)

    /// The largest window span (size, slide, gap, lateness): about 18 years.
    @usableFromInline static let maxSpan: Int64 = 1 << 59

    /// `duration` in whole nanoseconds (attoseconds truncated toward zero), saturating at the `Int64` range.
    @inlinable
    static func nanoseconds(_ duration: Duration) -> Int64 {
        let (seconds, attoseconds) = duration.components
        let (scaled, overflow) = seconds.multipliedReportingOverflow(by: 1_000_000_000)
        if overflow { return seconds < 0 ? .min : .max }
        let (sum, sumOverflow) = scaled.addingReportingOverflow(attoseconds / 1_000_000_000)
        if sumOverflow { return seconds < 0 ? .min : .max }
        return sum
    }

    /// Floor division (rounds toward negative infinity); `divisor` must be positive.
    @inlinable
    static func floorDivide(_ dividend: Int64, _ divisor: Int64) -> Int64 {
        let quotient = dividend / divisor
        return (dividend % divisor != 0 && dividend < 0) ? quotient - 1 : quotient
    }

    /// `value` clamped to at least one nanosecond, in nanoseconds.
    @inlinable
    static func positiveNanoseconds(_ value: Duration) -> Int64 {
        Swift.max(1, nanoseconds(value))
    }

    /// A duration as a window position, clamped to `±maxPosition`.
    @inlinable
    static func position(_ duration: Duration) -> Int64 {
        Swift.min(maxPosition, Swift.max(-maxPosition, nanoseconds(duration)))
    }

    /// A duration as a window span, clamped to `1...maxSpan` nanoseconds.
    @inlinable
    static func span(_ duration: Duration) -> Int64 {
        Swift.min(maxSpan, Swift.max(1, nanoseconds(duration)))
    }

    /// A duration as a non-negative span, clamped to `0...maxSpan` nanoseconds.
    @inlinable
    static func nonNegativeSpan(_ duration: Duration) -> Int64 {
        Swift.min(maxSpan, Swift.max(0, nanoseconds(duration)))
    }
}
