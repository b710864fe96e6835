import StreamKitEngine
import StreamKitWire
import Synchronization

/// What a live feed (a subscription's statuses, a worker watch's inventories) holds between the connection and
/// its consumer: at most one element per key (a newer one replaces an undelivered older one of its key and counts
/// as coalesced), so a slow consumer costs memory bounded by the number of keys — segments for statuses, one for
/// inventories. Every message is taken at once, so the server is never held back by the consumer. The buffer
/// outlives the streams of its feed: after a lost connection the next stream delivers into it again. A `Mutex`
/// guards it.
final class CoalescingBuffer<Element: Sendable>: StreamReceiver {
    /// What the consumer gets next.
    enum Event: Sendable {
        case element(Element)
        /// The server finished the feed (the store closed).
        case finished
        /// The server failed the feed; rethrow.
        case failed(StreamKitError)
        /// The connection was lost: open the feed again.
        case lost(StreamKitError)
        /// ``cancel()`` was called, or the waiting task was cancelled.
        case cancelled
    }

    /// Whether the server accepted the feed's stream.
    enum Acceptance: Sendable {
        /// Its credit or an element arrived.
        case accepted
        /// It ended first, so.
        case ended(Event)
    }

    private struct State {
        var queue = CoalescingQueue<Element>()
        var end: Event?
        var waiter: CheckedContinuation<Event, Never>?
        var coalesced = 0
        /// Whether the server accepted the current stream (its credit or an element arrived).
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
    /// What the feed expects (for the error when another message arrives), and each message's key and element.
    private let expected: String
    private let unpack: @Sendable (WireMessage) -> (key: String, element: Element)?

    /// A buffer for messages `unpack` takes apart; any other message fails the feed (`expected` names what it wants).
    init(expecting expected: String, _ unpack: @escaping @Sendable (WireMessage) -> (key: String, element: Element)?) {
        self.expected = expected
        self.unpack = unpack
    }

    /// Elements replaced by a newer one of the same key before delivery.
    var coalescedCount: Int { state.withLock { $0.coalesced } }

    // MARK: - Connection side

    func deliver(_ message: WireMessage) -> Bool {
        guard let (key, element) = unpack(message) else {
            fail(
                StreamKitError(code: .internalError, message: "a feed of \(expected) received \(message.kind)"),
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
            if state.queue.push(element, key: key) { state.coalesced += 1 }
            return (nil, acceptance)
        }
        acceptance?.resume()
        waiter?.resume(returning: .element(element))
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

    /// Ends delivery for good: a waiting consumer gets `.cancelled`, queued elements are dropped.
    func cancel() {
        let (waiter, acceptance) = state.withLock { state -> Wakeups in
            state.end = .cancelled
            state.queue.removeAll()
            defer { state.waiter = nil }
            return (state.waiter, state.takeAcceptanceWaiter())
        }
        acceptance?.resume()
        waiter?.resume(returning: .cancelled)
    }

    /// Accepts elements again after a lost connection, for the next stream (not accepted yet). Elements still queued
    /// stay.
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

    /// Waits until the server accepted the current stream, or the stream ended first; its elements stay queued for
    /// ``next()``. `.ended(.cancelled)` when the waiting task is cancelled.
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

    /// The next element (queued ones first), or how delivery ended; `.cancelled` when the waiting task is cancelled.
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
        if let element = state.queue.popFirst() { return .element(element) }
        return state.end
    }
}

extension CoalescingBuffer where Element == SegmentStatus {
    /// A subscription's statuses, the latest per segment.
    static func statuses() -> CoalescingBuffer<SegmentStatus> {
        CoalescingBuffer(expecting: "statuses") { message in
            guard case .status(let status) = message else { return nil }
            return (status.segment, status)
        }
    }
}

extension CoalescingBuffer where Element == WorkerInventory {
    /// A worker watch's inventories: only the latest waits.
    static func inventories() -> CoalescingBuffer<WorkerInventory> {
        CoalescingBuffer(expecting: "worker inventories") { message in
            guard case .workerInventory(let inventory) = message else { return nil }
            return ("", inventory)
        }
    }
}
