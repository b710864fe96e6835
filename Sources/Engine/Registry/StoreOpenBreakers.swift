#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// One circuit breaker per store id over its consecutive failed opens: closed, open (fail fast) and
/// half-open (one trial).
///
/// A plain value that ``StoreRegistry`` mutates inside its actor, passing its monotonic clock reading (`now`,
/// nanoseconds) to every call, so the breakers never read a clock and tests are deterministic.
///
/// Rules:
/// - Each failed open of an id counts one; a successful open forgets the id.
/// - At ``threshold`` consecutive failures the breaker opens: ``admit(_:now:)`` rejects until
///   `now ≥ failure time + failFast`, then answers ``Admission/trial`` (half-open). The registry lets exactly
///   one open through for it (concurrent callers share that open). A failed trial counts one more failure and
///   so opens the breaker again for another `failFast`.
/// - At most ``capacity`` ids are remembered; recording a new id when full forgets the least recently
///   failed one.
struct StoreOpenBreakers: Sendable {
    /// Whether an open of a store may be attempted now.
    enum Admission: Sendable, Hashable {
        /// The breaker is closed: open normally.
        case closed
        /// The fail-fast period is over: one trial open may go ahead (half-open).
        case trial
        /// The breaker is open until `retryAt` (monotonic ns) after `failures` consecutive failures, the last
        /// of which said `lastError`.
        case rejected(retryAt: UInt64, failures: Int, lastError: String)
    }

    private struct Record: Sendable {
        var failures = 0
        /// When the breaker is open: the end of the fail-fast period.
        var openUntil: UInt64?
        var lastError = ""
        /// Recency of the last failure, for forgetting the oldest record.
        var order: UInt64 = 0
    }

    private var records: [UUID: Record] = [:]
    private var nextOrder: UInt64 = 0
    /// Consecutive failures that open the breaker (at least 1).
    let threshold: Int
    /// How long an open breaker fails fast, nanoseconds.
    let failFast: UInt64
    /// The most ids remembered (at least 1).
    let capacity: Int

    /// Creates breakers with nothing recorded.
    ///
    /// - Parameters:
    ///   - threshold: Consecutive failures that open a breaker; values below 1 count as 1.
    ///   - failFast: How long an open breaker rejects, nanoseconds.
    ///   - capacity: The most ids remembered; values below 1 count as 1.
    init(threshold: Int, failFast: UInt64, capacity: Int) {
        self.threshold = max(1, threshold)
        self.failFast = failFast
        self.capacity = max(1, capacity)
    }

    /// The number of ids with failures recorded.
    var count: Int { records.count }

    /// Whether an open of `id` may be attempted at `now`.
    /// - Complexity: O(1).
    func admit(_ id: UUID, now: UInt64) -> Admission {
        guard let record = records[id], let openUntil = record.openUntil else { return .closed }
        guard now >= openUntil else {
            return .rejected(retryAt: openUntil, failures: record.failures, lastError: record.lastError)
        }
        return .trial
    }

    /// Records a failed open of `id` at `now`.
    ///
    /// - Returns: The end of the fail-fast period when this failure opened (or, after a trial, reopened) the
    ///   breaker; nil while it stays closed.
    /// - Complexity: O(1), or O(``capacity``) when a new id has to push out the oldest one.
    mutating func recordFailure(_ id: UUID, error: String, now: UInt64) -> UInt64? {
        if records[id] == nil && records.count >= capacity { forgetOldest() }
        var record = records[id] ?? Record()
        record.failures += 1
        record.lastError = error
        record.order = nextOrder
        nextOrder &+= 1
        if record.failures >= threshold {
            let (until, overflow) = now.addingReportingOverflow(failFast)
            record.openUntil = overflow ? .max : until
        }
        records[id] = record
        return record.openUntil
    }

    /// Records a successful open of `id`: its failures are forgotten.
    ///
    /// - Returns: Whether the breaker had been open (the success was a trial).
    @discardableResult
    mutating func recordSuccess(_ id: UUID) -> Bool {
        records.removeValue(forKey: id)?.openUntil != nil
    }

    /// The consecutive failures recorded for `id`.
    func failures(of id: UUID) -> Int { records[id]?.failures ?? 0 }

    private mutating func forgetOldest() {
        guard let oldest = records.min(by: { $0.value.order < $1.value.order })?.key else { return }
        records[oldest] = nil
    }
}
