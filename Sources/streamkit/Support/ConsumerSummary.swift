import Foundation
import StreamKitEngine

/// One durable consumer as `inspect` reports it: what it reads, its acknowledged position and, when the store is
/// open (`--postgres`), its lag.
struct ConsumerSummary: Encodable {
    var name: String
    var target: String
    /// Per space, the offset token of the last acknowledged entry.
    var offsets: [String: String]
    /// A segment consumer's last acknowledged sequence.
    var sequence: UInt64
    var fencingToken: UInt64
    var updatedAt: String
    /// Entries behind the head (only when the store is open).
    var lagEntries: Int?
    var lagSeconds: Double?

    init(_ consumer: Consumer, lag: ConsumerLag? = nil) {
        name = consumer.name
        target = consumer.target.description
        offsets = consumer.position.offsets.mapValues(\.token)
        sequence = consumer.position.sequence
        fencingToken = consumer.fencingToken
        updatedAt = isoTime(consumer.updatedAt)
        lagEntries = lag?.entries
        lagSeconds = lag.map { Double($0.nanoseconds) / 1e9 }
    }

    /// The text `inspect` prints.
    static func lines(_ consumers: [ConsumerSummary]) -> [String] {
        guard !consumers.isEmpty else { return [] }
        var lines = ["  consumers: \(consumers.count)"]
        for consumer in consumers {
            let position =
                consumer.target.hasPrefix("segment")
                ? "after sequence \(consumer.sequence)"
                : consumer.offsets.isEmpty
                    ? "from the start"
                    : "after "
                        + consumer.offsets.sorted { $0.key < $1.key }.map { "\($0.key)@\($0.value)" }.joined(
                            separator: ", ")
            let lag =
                consumer.lagEntries.map {
                    ", behind \($0) entries (\(String(format: "%.3f", consumer.lagSeconds ?? 0)) s)"
                } ?? ""
            lines.append(
                "    \(consumer.name): \(consumer.target), \(position)\(lag), token \(consumer.fencingToken), moved \(consumer.updatedAt)"
            )
        }
        return lines
    }
}
