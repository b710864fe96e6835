import Metrics
import StreamKitLogFiles
import Synchronization

/// Counts a server's open TCP connections (upgraded or not) against its limit, and paces the warning logged
/// when connections are refused for it.
final class ConnectionSlots: Sendable {
    /// Most connections open at once.
    let limit: Int
    private let open = Atomic<Int>(0)
    /// Nanoseconds after `origin` of the last refusal warning; `Int64.min`: none yet.
    private let lastWarning = Atomic<Int64>(.min)
    private let origin = ContinuousClock.now
    /// Connections open now (`streamkit_server_open_connections`).
    private let openMetric = Gauge(label: "streamkit_server_open_connections")

    /// Warnings about refused connections are at least this far apart.
    static let warningInterval: Duration = .seconds(60)

    /// - Parameter limit: Most connections open at once (at least 1).
    init(limit: Int) {
        self.limit = max(1, limit)
    }

    /// Connections open now.
    var count: Int { open.load(ordering: .relaxed) }

    /// Takes a slot for a new connection; false when all `limit` are taken.
    func take() -> Bool {
        var current = open.load(ordering: .relaxed)
        while current < limit {
            let (exchanged, original) = open.compareExchange(
                expected: current, desired: current + 1, ordering: .relaxed)
            if exchanged {
                openMetric.record(current + 1)
                return true
            }
            current = original
        }
        return false
    }

    /// Gives back the slot of a connection that closed.
    func release() {
        openMetric.record(open.subtract(1, ordering: .relaxed).newValue)
    }

    /// Whether a refusal now should be logged as a warning: the first one, then at most one per
    /// ``warningInterval`` (the others are only counted in the metric).
    func shouldWarnOfRefusal() -> Bool {
        let now = (ContinuousClock.now - origin).nanoseconds
        let interval = Self.warningInterval.nanoseconds
        let last = lastWarning.load(ordering: .relaxed)
        guard last == .min || now &- last >= interval else { return false }
        return lastWarning.compareExchange(expected: last, desired: now, ordering: .relaxed).exchanged
    }
}
