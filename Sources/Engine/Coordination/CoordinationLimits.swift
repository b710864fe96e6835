/// Fixed limits of leases and worker presence, shared by the tables, the wire layer and the client.
///
/// Times are monotonic nanoseconds, the unit of ``EngineClock``.
package enum CoordinationLimits {
    /// One second in nanoseconds.
    package static let second: UInt64 = 1_000_000_000

    /// Longest lease key, holder or worker id, in UTF-8 bytes.
    package static let maxNameBytes = 256

    /// Shortest lease time to live: 1 s.
    package static let minLeaseTTL: UInt64 = second
    /// Longest lease time to live: 24 h.
    package static let maxLeaseTTL: UInt64 = 86_400 * second

    /// Shortest worker heartbeat interval: 1 s.
    package static let minHeartbeatInterval: UInt64 = second
    /// Longest worker heartbeat interval: 300 s.
    package static let maxHeartbeatInterval: UInt64 = 300 * second
    /// The heartbeat interval used when a worker asks for 0: 30 s.
    package static let defaultHeartbeatInterval: UInt64 = 30 * second
    /// A worker is evicted after this many missed heartbeat intervals.
    package static let missedHeartbeatsBeforeEviction: UInt64 = 3

    /// Checks that a lease key, holder or worker id is non-empty and at most ``maxNameBytes`` UTF-8 bytes.
    ///
    /// - Parameters:
    ///   - name: The value to check.
    ///   - what: What the value is, for the message ("lease key", "worker id" …).
    /// - Throws: `invalidArgument` naming the limit.
    static func checkName(_ name: String, _ what: String) throws(StreamKitError) {
        let bytes = name.utf8.count
        guard bytes > 0 else { throw .invalidArgument("the \(what) is empty") }
        guard bytes <= maxNameBytes else {
            throw .invalidArgument(
                "the \(what) is \(bytes) UTF-8 bytes, over the limit of \(maxNameBytes)", limit: maxNameBytes,
                value: bytes)
        }
    }

    /// `base + offset`, saturating at `UInt64.max` instead of trapping.
    static func deadline(_ base: UInt64, plus offset: UInt64) -> UInt64 {
        let (sum, overflow) = base.addingReportingOverflow(offset)
        return overflow ? .max : sum
    }
}
