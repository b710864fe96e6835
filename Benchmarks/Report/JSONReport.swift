/// `--json FILE`: an array with one object per (scenario, system) measurement and exactly the fields
/// `scenario`, `system`, `records_per_second`, `mb_per_second`, `p50_us`, `p99_us`, `p999_us` (null
/// where not measured), `records`, `payload_bytes` (bytes per record), `batch`, `durability`.
enum JSONReport {
    static func render(_ measurements: [Measurement]) -> String {
        guard !measurements.isEmpty else { return "[]\n" }
        let objects = measurements.map { row -> String in
            let fields: [(String, String)] = [
                ("scenario", string(row.scenario)),
                ("system", string(row.system.rawValue)),
                ("records_per_second", number(row.recordsPerSecond, digits: 1)),
                ("mb_per_second", number(row.megabytesPerSecond, digits: 3)),
                ("p50_us", number(row.latency?.p50, digits: 3)),
                ("p99_us", number(row.latency?.p99, digits: 3)),
                ("p999_us", number(row.latency?.p999, digits: 3)),
                ("records", String(row.records)),
                ("payload_bytes", String(row.payloadBytesPerRecord)),
                ("batch", String(row.batch)),
                ("durability", string(row.durability.rawValue)),
            ]
            return "  {" + fields.map { "\(string($0.0)): \($0.1)" }.joined(separator: ", ") + "}"
        }
        return "[\n" + objects.joined(separator: ",\n") + "\n]\n"
    }

    private static func number(_ value: Double?, digits: Int) -> String {
        guard let value, value.isFinite else { return "null" }
        return NumberFormat.fixed(value, digits: digits)
    }

    /// A JSON string literal with the required escapes.
    static func string(_ text: String) -> String {
        var out = "\""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case _ where scalar.value < 0x20:
                let hex = String(scalar.value, radix: 16)
                out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
            default: out.unicodeScalars.append(scalar)
            }
        }
        return out + "\""
    }
}
