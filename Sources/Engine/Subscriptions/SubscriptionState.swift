import Metrics
import Synchronization

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// The buffer between the store and one subscriber: statuses wait here, at most one per segment (a newer
/// status replaces an undelivered older one and counts as coalesced), so a slow subscriber costs memory
/// bounded by the number of segments, never by the number of commits.
final class SubscriptionState: Sendable {
    private struct State {
        var queue = CoalescingQueue<SegmentStatus>()
        var waiter: CheckedContinuation<SegmentStatus?, Never>?
        var finished = false
        var delivered = 0
        var coalesced = 0
    }

    let id = UUID()
    let space: String
    /// A segment name, or `*` for every segment of the space.
    let segment: String
    /// Owned by a ``StoreRegistry``: a store closing drops it without ending it (the registry registers it with
    /// the store's next open, and ends it at shutdown).
    let outlivesStore: Bool
    private let state = Mutex(State())
    /// Statuses replaced before their subscriber took them, across every subscription of the process
    /// (`streamkit_subscription_coalesced_statuses_total`).
    private let coalescedMetric: Counter

    /// - Parameter metricsFactory: The backend of the coalescing metric; nil for the bootstrapped one.
    init(space: String, segment: String, outlivesStore: Bool = false, metricsFactory: (any MetricsFactory)? = nil) {
        coalescedMetric = Counter(
            label: "streamkit_subscription_coalesced_statuses_total", factory: metricsFactory ?? MetricsSystem.factory)
        self.space = space
        self.segment = segment
        self.outlivesStore = outlivesStore
    }

    func matches(_ name: String) -> Bool { segment == "*" || segment == name }

    var isFinished: Bool { state.withLock { $0.finished } }

    /// Queues a status (or hands it to a waiting subscriber). Returns false when the subscription is over.
    @discardableResult
    func push(_ status: SegmentStatus) -> Bool {
        var coalesced = false
        let waiter: CheckedContinuation<SegmentStatus?, Never>? = state.withLock { state in
            guard !state.finished else { return nil }
            if let waiter = state.waiter {
                state.waiter = nil
                state.delivered += 1
                return waiter
            }
            if state.queue.push(status, key: status.segment) {
                state.coalesced += 1
                coalesced = true
            }
            return nil
        }
        if coalesced { coalescedMetric.increment() }
        waiter?.resume(returning: status)
        return !isFinished
    }

    /// The next status, waiting for one; nil once finished (or when the waiting task is cancelled).
    func next() async -> SegmentStatus? {
        if let ready = state.withLock({ Self.dequeue(&$0) }) { return ready }
        return await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<SegmentStatus?, Never>) in
                let immediate: SegmentStatus?? = state.withLock { state in
                    if let status = Self.dequeue(&state) { return .some(status) }
                    if state.finished || Task.isCancelled { return .some(nil) }
                    state.waiter = continuation
                    return nil
                }
                if let immediate { continuation.resume(returning: immediate) }
            }
        } onCancel: {
            let waiter = state.withLock { state in
                defer { state.waiter = nil }
                return state.waiter
            }
            waiter?.resume(returning: nil)
        }
    }

    private static func dequeue(_ state: inout State) -> SegmentStatus? {
        guard let status = state.queue.popFirst() else { return nil }
        state.delivered += 1
        return status
    }

    /// Ends the subscription: a waiting subscriber gets nil, queued statuses are dropped.
    func finish() {
        let waiter = state.withLock { state in
            state.finished = true
            state.queue.removeAll()
            defer { state.waiter = nil }
            return state.waiter
        }
        waiter?.resume(returning: nil)
    }

    /// Delivered and coalesced counts.
    var counters: (delivered: Int, coalesced: Int, pending: Int) {
        state.withLock { ($0.delivered, $0.coalesced, $0.queue.count) }
    }

    /// Statuses delivered so far (the heartbeat compares it across an interval).
    func deliveredCount() -> Int { state.withLock { $0.delivered } }

    /// Queues a heartbeat unless something is already waiting.
    func pushHeartbeat(_ status: SegmentStatus) {
        let waiter: CheckedContinuation<SegmentStatus?, Never>? = state.withLock { state in
            guard !state.finished, state.queue.isEmpty else { return nil }
            if let waiter = state.waiter {
                state.waiter = nil
                return waiter
            }
            state.queue.push(status, key: status.segment)
            return nil
        }
        waiter?.resume(returning: status)
    }
}
