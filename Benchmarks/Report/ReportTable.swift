/// The report table: one row per measurement, ratios on the streamkit rows.
///
/// Ratios are computed per (scenario, durability): `ours/peer` = streamkit records/s ÷ sqlite
/// records/s (postgres-raw records/s in the `postgres.*` scenarios), `ours/limit` = streamkit records/s ÷ limit
/// records/s.
struct ReportTable {
    static let headers = [
        "scenario", "system", "durability", "records/s", "MB/s", "p50 µs", "p99 µs", "p999 µs", "max µs",
        "disk", "peak RSS", "ours/peer", "ours/limit",
    ]
    /// Columns holding numbers (right-aligned).
    static let numericColumns: Set<Int> = Set(3..<headers.count)

    static let legend = """
        records/s and MB/s count payload bytes; latency is per transaction (append) in µs; disk = bytes \
        of the files after the run; peak RSS = process VmHWM during that system's run (includes the \
        generated payloads); ours/peer and ours/limit = streamkit records/s ÷ sqlite (postgres-raw in the \
        postgres.* scenarios) or limit records/s for the same scenario and durability.
        """

    let measurements: [Measurement]
    let rows: [[String]]

    init(_ measurements: [Measurement]) {
        self.measurements = measurements
        rows = measurements.map { row in
            let ours = row.system == .streamkit
            return [
                row.scenario,
                row.system.rawValue,
                row.durability.rawValue,
                NumberFormat.rate(row.recordsPerSecond),
                NumberFormat.fixed(row.megabytesPerSecond, digits: 1),
                NumberFormat.micros(row.latency?.p50),
                NumberFormat.micros(row.latency?.p99),
                NumberFormat.micros(row.latency?.p999),
                NumberFormat.micros(row.latency?.max),
                NumberFormat.bytes(row.bytesOnDisk),
                NumberFormat.bytes(row.peakResidentBytes),
                ours ? NumberFormat.ratio(Self.peerRatio(row, in: measurements)) : "",
                ours ? NumberFormat.ratio(Self.ratio(row, against: .limit, in: measurements)) : "",
            ]
        }
    }

    /// `ours` records/s ÷ the sqlite row of the same scenario and durability, or else the postgres-raw row.
    static func peerRatio(_ ours: Measurement, in measurements: [Measurement]) -> Double? {
        ratio(ours, against: .sqlite, in: measurements) ?? ratio(ours, against: .postgresRaw, in: measurements)
    }

    /// `ours` records/s ÷ the first `system` row of the same scenario and durability.
    static func ratio(_ ours: Measurement, against system: BenchSystem, in measurements: [Measurement]) -> Double? {
        guard
            let peer = measurements.first(where: {
                $0.system == system && $0.scenario == ours.scenario && $0.durability == ours.durability
            }), peer.recordsPerSecond > 0
        else { return nil }
        return ours.recordsPerSecond / peer.recordsPerSecond
    }

    /// Extra figures (`Measurement.extras`), one line per row that has any.
    var notes: [String] {
        measurements.compactMap { row in
            guard !row.extras.isEmpty else { return nil }
            let pairs = row.extras.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }
            return "\(row.scenario) \(row.system.rawValue) \(row.durability.rawValue): " + pairs.joined(separator: ", ")
        }
    }

    /// Plain text for stdout: aligned columns, a rule under the header, notes below.
    func text() -> String {
        guard !rows.isEmpty else { return "no measurements" }
        let widths = Self.headers.indices.map { column in
            max(Self.headers[column].count, rows.map { $0[column].count }.max() ?? 0)
        }
        func line(_ cells: [String]) -> String {
            cells.enumerated().map { column, cell in
                Self.numericColumns.contains(column) ? cell.leftPadding(widths[column]) : cell.padding(widths[column])
            }.joined(separator: "  ").trimmingTrailingSpaces()
        }
        var lines = [line(Self.headers), widths.map { String(repeating: "-", count: $0) }.joined(separator: "  ")]
        lines += rows.map(line)
        if !notes.isEmpty {
            lines.append("")
            lines += notes.map { "note: " + $0 }
        }
        return lines.joined(separator: "\n")
    }

    /// GitHub Markdown: the same table, numbers right-aligned, notes and legend below.
    func markdown() -> String {
        let escape: (String) -> String = { $0.replacingPipes() }
        var lines = ["| " + Self.headers.joined(separator: " | ") + " |"]
        lines.append(
            "|" + Self.headers.indices.map { Self.numericColumns.contains($0) ? "---:" : ":---" }.joined(separator: "|")
                + "|")
        lines += rows.map { "| " + $0.map(escape).joined(separator: " | ") + " |" }
        lines.append("")
        lines += notes.map { "- " + $0 }
        if !notes.isEmpty { lines.append("") }
        lines.append(Self.legend)
        return lines.joined(separator: "\n") + "\n"
    }
}

extension String {
    fileprivate func trimmingTrailingSpaces() -> String {
        var text = self
        while text.last == " " { text.removeLast() }
        return text
    }

    fileprivate func replacingPipes() -> String {
        var out = ""
        for character in self {
            if character == "|" { out += "\\|" } else { out.append(character) }
        }
        return out
    }
}
