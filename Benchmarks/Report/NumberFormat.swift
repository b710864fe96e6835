/// Number formatting for the report, by hand so output is identical everywhere (no locale).
enum NumberFormat {
    /// `x` with exactly `digits` decimals, e.g. `fixed(3.14159, digits: 2)` → `3.14`. Non-finite → `-`.
    static func fixed(_ value: Double, digits: Int) -> String {
        guard value.isFinite else { return "-" }
        var scale = 1.0
        for _ in 0..<max(0, digits) { scale *= 10 }
        let scaled = (abs(value) * scale).rounded()
        guard scaled < 9.0e18 else { return String(value) }
        let units = UInt64(scaled)
        let whole = units / UInt64(scale)
        let sign = value < 0 && units > 0 ? "-" : ""
        guard digits > 0 else { return sign + String(whole) }
        let fraction = String(units % UInt64(scale))
        return sign + String(whole) + "." + String(repeating: "0", count: digits - fraction.count) + fraction
    }

    /// `1234567` → `1,234,567`.
    static func grouped(_ value: Int) -> String {
        let digits = String(value.magnitude)
        var result = ""
        for (index, character) in digits.enumerated() {
            if index > 0, (digits.count - index) % 3 == 0 { result.append(",") }
            result.append(character)
        }
        return value < 0 ? "-" + result : result
    }

    /// Records per second as a grouped integer.
    static func rate(_ value: Double) -> String {
        guard value.isFinite else { return "-" }
        return grouped(Int(value.rounded()))
    }

    /// Microseconds: one decimal below 100, grouped integer above. `nil` → `-`.
    static func micros(_ value: Double?) -> String {
        guard let value, value.isFinite else { return "-" }
        return value < 100 ? fixed(value, digits: 1) : grouped(Int(value.rounded()))
    }

    /// `1536` → `1.5 KiB`, `12_582_912` → `12.0 MiB`. `nil` → `-`.
    static func bytes(_ value: Int?) -> String {
        guard let value else { return "-" }
        let units = ["B", "KiB", "MiB", "GiB", "TiB"]
        var amount = Double(value)
        var unit = 0
        while amount >= 1024, unit < units.count - 1 {
            amount /= 1024
            unit += 1
        }
        return unit == 0 ? "\(value) B" : fixed(amount, digits: 1) + " " + units[unit]
    }

    /// `0.736` → `0.74×`. `nil` → empty.
    static func ratio(_ value: Double?) -> String {
        guard let value, value.isFinite else { return "" }
        return fixed(value, digits: 2) + "×"
    }

    /// Short form for chart labels: `1.23M`, `456k`, `12.3k`, `980`.
    static func compact(_ value: Double) -> String {
        guard value.isFinite else { return "-" }
        let steps: [(Double, String)] = [(1e9, "G"), (1e6, "M"), (1e3, "k")]
        for (threshold, suffix) in steps where abs(value) >= threshold {
            let scaled = value / threshold
            let digits = abs(scaled) >= 100 ? 0 : (abs(scaled) >= 10 ? 1 : 2)
            return fixed(scaled, digits: digits) + suffix
        }
        return fixed(value, digits: abs(value) >= 10 ? 0 : 1)
    }
}
