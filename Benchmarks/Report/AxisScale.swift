#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Maps values to 0…1 along the chart axis: linear from 0 with "nice" ticks, or logarithmic by decades
/// when the positive values span more than `logThreshold`×. Tick labels come from `label(_:)`.
struct AxisScale {
    static let logThreshold = 100.0

    let isLogarithmic: Bool
    let lower: Double
    let upper: Double
    let ticks: [Double]

    init(values: [Double]) {
        let positive = values.filter { $0 > 0 && $0.isFinite }
        let smallest = positive.min() ?? 1
        let largest = positive.max() ?? 1
        if largest / smallest > Self.logThreshold {
            isLogarithmic = true
            let low = pow(10, floor(log10(smallest)))
            let high = max(largest * 1.25, low * 10)
            lower = low
            upper = high
            var ticks: [Double] = []
            var tick = low
            while tick <= high {
                ticks.append(tick)
                tick *= 10
            }
            self.ticks = ticks
        } else {
            isLogarithmic = false
            let step = Self.niceStep(largest / 5)
            let high = max(step, ceil(largest * 1.05 / step) * step)
            lower = 0
            upper = high
            ticks = stride(from: 0.0, through: high + step / 2, by: step).map { $0 }
        }
    }

    /// Position of `value` in 0…1 (clamped).
    func position(_ value: Double) -> Double {
        let raw: Double
        if isLogarithmic {
            guard value > 0 else { return 0 }
            raw = (log10(value) - log10(lower)) / (log10(upper) - log10(lower))
        } else {
            raw = upper > lower ? (value - lower) / (upper - lower) : 0
        }
        return min(1, max(0, raw))
    }

    /// Tick label without trailing zeros: `1k`, `250k`, `1.5M`, `10M`.
    static func label(_ value: Double) -> String {
        let steps: [(Double, String)] = [(1e9, "G"), (1e6, "M"), (1e3, "k"), (1, "")]
        for (threshold, suffix) in steps where value >= threshold || threshold == 1 {
            var text = NumberFormat.fixed(value / threshold, digits: 2)
            while text.contains("."), text.hasSuffix("0") { text.removeLast() }
            if text.hasSuffix(".") { text.removeLast() }
            return text + suffix
        }
        return NumberFormat.fixed(value, digits: 0)
    }

    /// 1, 2, 2.5 or 5 × 10^k at or above `rough`.
    static func niceStep(_ rough: Double) -> Double {
        guard rough > 0, rough.isFinite else { return 1 }
        let magnitude = pow(10, floor(log10(rough)))
        for factor in [1.0, 2.0, 2.5, 5.0, 10.0] where factor * magnitude >= rough {
            return factor * magnitude
        }
        return 10 * magnitude
    }
}
