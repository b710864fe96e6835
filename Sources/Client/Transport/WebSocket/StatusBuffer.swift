import StreamKitEngine
import StreamKitWire
import Synchronization

/// The statuses of one subscription between the connection and the subscription's dispatcher: at most one per
/// segment (a newer status replaces an undelivered older one and counts as coalesced), so a slow handler costs
/// memory bounded by the number of segments. Every message is taken at once, so the server is never held back
/// by the handler. The buffer outlives the streams of its subscription: after a lost connection the next
/// subscribe stream delivers into it again. A `Mutex` guards it.
final class StatusBuffer: StreamReceiver {
    /// What the consumer gets next.
    enum Event: Sendable {
        case status(SegmentStatus)
        /// The server finished the subscription (the store closed).
        case finished
        /// The server failed the subscription; rethrow.
        case failed(StreamKitError)
        /// The connection was lost: re-subscribe.
        case lost(StreamKitError)
        /// ``cancel()`` was called, or the waiting task was cancelled.
        case cancelled
    }

    /// Whether the server accepted a subscribe stream.
    enum Acceptance: Sendable {
        /// Its credit or a status arrived.
        case accepted
        /// It ended first, so.
        case ended(Event)
    }

    private struct State {
        var order: [String] = []
        var head = 0
        var pending: [String: SegmentStatus] = [:]
        var end: Event?
        var waiter: CheckedContinuation<Event, Never>?
        var coalesced = 0
        /// Whether the server accepted the current subscribe stream (its credit or a status arrived).
        var accepted = false
        /// ``acceptance()``'s waiter.
        var acceptanceWaiter: CheckedContinuation<Acceptance, Never>?

        /// What ``acceptance()`` answers now, if it is known.
        var acceptance: Acceptance? {
            if accepted { return .accepted }
            return end.map { .ended($0) }
        }

        /// The waiter of ``acceptance()`` with its answer, once there is one.
        mutating func takeAcceptanceWaiter() -> AcceptanceWaiter? {
            guard let waiter = acceptanceWaiter, let answer = acceptance else { return nil }
            acceptanceWaiter = nil
            return AcceptanceWaiter(continuation: waiter, answer: answer)
        }
    }

    private let state = Mutex(State())

    /// Statuses replaced by a newer one of the same segment before delivery.
    var coalescedCount: Int { state.withLock { $0.coalesced } }

    // MARK: - Connection side

    func deliver(_ message: WireMessage) -> Bool {
        guard case .status(let status) = message else {
            fail(
                StreamKitError(code: .internalError, message: "a subscription received \(message.kind), not a status"),
                reason: .server)
            return true
        }
        let (waiter, acceptance) = state.withLock { state -> Wakeups in
            guard state.end == nil else { return (nil, nil) }
            state.accepted = true
            let acceptance = state.takeAcceptanceWaiter()
            if let waiter = state.waiter {
                state.waiter = nil
                return (waiter, acceptance)
            }
            if state.pending[status.segment] != nil {
                state.coalesced += 1
            } else {
                state.order.append(status.segment)
            }
            state.pending[status.segment] = status
            return (nil, acceptance)
        }
        acceptance?.resume()
        waiter?.resume(returning: .status(status))
        return true
    }

    func accepted() {
        let acceptance = state.withLock { state -> AcceptanceWaiter? in
            guard state.end == nil else { return nil }
            state.accepted = true
            return state.takeAcceptanceWaiter()
        }
        acceptance?.resume()
    }

    func finish() { end(.finished) }

    func fail(_ error: StreamKitError, reason: StreamFailure) {
        end(reason == .server ? .failed(error) : .lost(error))
    }

    /// Ends delivery for good: a waiting consumer gets `.cancelled`, queued statuses are dropped.
    func cancel() {
        let (waiter, acceptance) = state.withLock { state -> Wakeups in
            state.end = .cancelled
            state.pending.removeAll()
            state.order.removeAll()
            state.head = 0
            defer { state.waiter = nil }
            return (state.waiter, state.takeAcceptanceWaiter())
        }
        acceptance?.resume()
        waiter?.resume(returning: .cancelled)
    }

    /// Accepts statuses again after a lost connection, for the next subscribe stream (not accepted yet). Statuses
    /// still queued stay.
    ///
    /// - Returns: false when the buffer was cancelled meanwhile.
    func reopen() -> Bool {
        state.withLock { state in
            if case .cancelled? = state.end { return false }
            state.end = nil
            state.accepted = false
            return true
        }
    }

    private func end(_ event: Event) {
        let (waiter, acceptance) = state.withLock { state -> Wakeups in
            guard state.end == nil else { return (nil, nil) }
            state.end = event
            defer { state.waiter = nil }
            return (state.waiter, state.takeAcceptanceWaiter())
        }
        acceptance?.resume()
        waiter?.resume(returning: event)
    }

    /// The waiters to resume, outside the lock, after a change.
    private typealias Wakeups = (CheckedContinuation<Event, Never>?, AcceptanceWaiter?)

    /// A waiter of ``acceptance()`` and its answer, resumed outside the lock.
    private struct AcceptanceWaiter {
        let continuation: CheckedContinuation<Acceptance, Never>
        let answer: Acceptance

        func resume() { continuation.resume(returning: answer) }
    }

    /// Waits until the server accepted the current subscribe stream, or the stream ended first; its statuses stay
    /// queued for ``next()``. `.ended(.cancelled)` when the waiting task is cancelled.
    func acceptance() async -> Acceptance {
        if let ready = state.withLock({ $0.acceptance }) { return ready }
        return await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<Acceptance, Never>) in
                let ready = state.withLock { state -> Acceptance? in
                    if let answer = state.acceptance { return answer }
                    if Task.isCancelled { return .ended(.cancelled) }
                    state.acceptanceWaiter = continuation
                    return nil
                }
                if let ready { continuation.resume(returning: ready) }
            }
        } onCancel: {
            let waiter = state.withLock { state in
                defer { state.acceptanceWaiter = nil }
                return state.acceptanceWaiter
            }
            waiter?.resume(returning: .ended(.cancelled))
        }
    }

    // MARK: - Consumer side

    /// The next status (queued ones first), or how delivery ended; `.cancelled` when the waiting task is cancelled.
    func next() async -> Event {
        if let ready = state.withLock({ Self.take(&$0) }) { return ready }
        return await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<Event, Never>) in
                let ready = state.withLock { state -> Event? in
                    if let event = Self.take(&state) { return event }
                    if Task.isCancelled { return .cancelled }
                    state.waiter = continuation
                    return nil
                }
                if let ready { continuation.resume(returning: ready) }
            }
        } onCancel: {
            let waiter = state.withLock { state in
                defer { state.waiter = nil }
                return state.waiter
            }
            waiter?.resume(returning: .cancelled)
        }
    }

    private static func take(_ state: inout State) -> Event? {
        while state.head < state.order.count {
            let name = state.order[state.head]
            state.head += 1
            if state.head == state.order.count {
                state.order.removeAll(keepingCapacity: true)
                state.head = 0
            } else if state.head > 1024 && state.head * 2 > state.order.count {
                state.order.removeFirst(state.head)
                state.head = 0
            }
            if let status = state.pending.removeValue(forKey: name) { return .status(status) }
        }
        return state.end
    }
}
