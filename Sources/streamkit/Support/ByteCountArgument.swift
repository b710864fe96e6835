import ArgumentParser

/// A size in bytes: a whole number, optionally with a unit — `K`/`KiB` (1024), `M`/`MiB`, `G`/`GiB`, `T`/`TiB`,
/// or the decimal `KB`, `MB`, `GB`, `TB` (1000).
struct ByteCountArgument: ExpressibleByArgument, CustomStringConvertible {
    var value: Int64
    let description: String

    private static let units: [(suffix: String, factor: Int64)] = [
        ("KiB", 1 << 10), ("MiB", 1 << 20), ("GiB", 1 << 30), ("TiB", 1 << 40),
        ("KB", 1_000), ("MB", 1_000_000), ("GB", 1_000_000_000), ("TB", 1_000_000_000_000),
        ("K", 1 << 10), ("M", 1 << 20), ("G", 1 << 30), ("T", 1 << 40), ("B", 1),
    ]

    init?(argument: String) {
        var digits = Substring(argument)
        var factor: Int64 = 1
        if let unit = Self.units.first(where: { argument.hasSuffix($0.suffix) }) {
            digits = argument.dropLast(unit.suffix.count)
            factor = unit.factor
        }
        guard let count = Int64(digits), count >= 0 else { return nil }
        let (total, overflow) = count.multipliedReportingOverflow(by: factor)
        guard !overflow else { return nil }
        value = total
        description = argument
    }
}
