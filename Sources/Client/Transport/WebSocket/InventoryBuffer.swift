import StreamKitEngine
import StreamKitWire
import Synchronization

/// The inventories of one worker watch between the connection and the watch's reader: at most one waits (a newer
/// inventory replaces an undelivered older one), so a slow reader costs one inventory of memory. Every message
/// is taken at once, so the server is never held back by the reader. The buffer outlives the streams of its
/// watch: after a lost connection the next `workerWatch` stream delivers into it again. A `Mutex` guards it.
final class InventoryBuffer: StreamReceiver {
    /// What the reader gets next.
    enum Event: Sendable {
        case inventory(WorkerInventory)
        /// The server finished the watch.
        case finished
        /// The server failed the watch; rethrow.
        case failed(StreamKitError)
        /// The connection was lost: watch again.
        case lost(StreamKitError)
        /// ``cancel()`` was called, or the waiting task was cancelled.
        case cancelled
    }

    /// Whether the server accepted a watch stream.
    enum Acceptance: Sendable {
        /// Its credit or an inventory arrived.
        case accepted
        /// It ended first, so.
        case ended(Event)
    }

    private struct State {
        var pending: WorkerInventory?
        var end: Event?
        var waiter: CheckedContinuation<Event, Never>?
        var accepted = false
        var acceptanceWaiter: CheckedContinuation<Acceptance, Never>?

        var acceptance: Acceptance? {
            if accepted { return .accepted }
            return end.map { .ended($0) }
        }

        mutating func takeAcceptanceWaiter() -> AcceptanceWaiter? {
            guard let waiter = acceptanceWaiter, let answer = acceptance else { return nil }
            acceptanceWaiter = nil
            return AcceptanceWaiter(continuation: waiter, answer: answer)
        }
    }

    private let state = Mutex(State())

    // MARK: - Connection side

    func deliver(_ message: WireMessage) -> Bool {
        guard case .workerInventory(let inventory) = message else {
            fail(
                StreamKitError(code: .internalError, message: "a worker watch received \(message.kind), not an inventory"),
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
            state.pending = inventory
            return (nil, acceptance)
        }
        acceptance?.resume()
        waiter?.resume(returning: .inventory(inventory))
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

    /// Ends delivery for good: a waiting reader gets `.cancelled`, a queued inventory is dropped.
    func cancel() {
        let (waiter, acceptance) = state.withLock { state -> Wakeups in
            state.end = .cancelled
            state.pending = nil
            defer { state.waiter = nil }
            return (state.waiter, state.takeAcceptanceWaiter())
        }
        acceptance?.resume()
        waiter?.resume(returning: .cancelled)
    }

    /// Accepts inventories again after a lost connection, for the next watch stream (not accepted yet).
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

    private typealias Wakeups = (CheckedContinuation<Event, Never>?, AcceptanceWaiter?)

    private struct AcceptanceWaiter {
        let continuation: CheckedContinuation<Acceptance, Never>
        let answer: Acceptance

        func resume() { continuation.resume(returning: answer) }
    }

    /// Waits until the server accepted the current watch stream, or the stream ended first.
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

    // MARK: - Reader side

    /// The queued inventory, or the next one, or how delivery ended; `.cancelled` when the waiting task is
    /// cancelled.
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
        if let inventory = state.pending {
            state.pending = nil
            return .inventory(inventory)
        }
        return state.end
    }
}
