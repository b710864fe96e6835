import StreamKitEngine
import StreamKitWire
import Synchronization

/// The messages of one request or read stream, queued between the connection (which delivers them) and the one
/// task that consumes them. A `Mutex` guards the queue, the end and the waiting consumer.
///
/// With `autoConsume` the connection frees each message as it arrives (for answers that are small and bounded:
/// one-shot results, produce acknowledgements); otherwise the consumer acknowledges them as it takes them, which
/// is what grants the server more credit, so a slow reader stalls only its own stream.
final class StreamInbox: StreamReceiver {
    private struct State {
        var messages: [WireMessage] = []
        var head = 0
        var end: InboxEvent?
        var waiter: CheckedContinuation<InboxEvent, any Error>?
    }

    private let state = Mutex(State())
    /// Whether the connection frees messages as they arrive.
    let autoConsume: Bool

    init(autoConsume: Bool) {
        self.autoConsume = autoConsume
    }

    /// Whether no message is waiting.
    var isEmpty: Bool { state.withLock { $0.head == $0.messages.count } }

    /// Whether the stream has ended (finished or failed), even if messages are still queued.
    var hasEnded: Bool { state.withLock { $0.end != nil } }

    // MARK: - Connection side

    func deliver(_ message: WireMessage) -> Bool {
        let waiter = state.withLock { state -> CheckedContinuation<InboxEvent, any Error>? in
            guard state.end == nil else { return nil }
            if let waiter = state.waiter {
                state.waiter = nil
                return waiter
            }
            state.messages.append(message)
            return nil
        }
        waiter?.resume(returning: .message(message))
        return autoConsume
    }

    func finish() { end(.finished) }

    func fail(_ error: StreamKitError, reason: StreamFailure) {
        switch reason {
        case .server: end(.failed(error))
        case .connectionLost: end(.lost(error))
        case .refused: end(.refused(error))
        }
    }

    /// Ends the stream locally with any error (the records of a produce failed); queued messages still come first.
    func failLocally(_ error: any Error) { end(.failed(error)) }

    private func end(_ event: InboxEvent) {
        let waiter = state.withLock { state -> CheckedContinuation<InboxEvent, any Error>? in
            guard state.end == nil else { return nil }
            state.end = event
            defer { state.waiter = nil }
            return state.waiter
        }
        waiter?.resume(returning: event)
    }

    // MARK: - Consumer side

    /// The next message, or how the stream ended (repeated on every later call).
    ///
    /// - Throws: `CancellationError` when the waiting task is cancelled.
    func next() async throws -> InboxEvent {
        if let ready = state.withLock({ Self.take(&$0) }) { return ready }
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<InboxEvent, any Error>) in
                let ready = state.withLock { state -> Result<InboxEvent, any Error>? in
                    if let event = Self.take(&state) { return .success(event) }
                    if Task.isCancelled { return .failure(CancellationError()) }
                    state.waiter = continuation
                    return nil
                }
                if let ready { continuation.resume(with: ready) }
            }
        } onCancel: {
            let waiter = state.withLock { state in
                defer { state.waiter = nil }
                return state.waiter
            }
            waiter?.resume(throwing: CancellationError())
        }
    }

    private static func take(_ state: inout State) -> InboxEvent? {
        if state.head < state.messages.count {
            let message = state.messages[state.head]
            state.head += 1
            if state.head == state.messages.count {
                state.messages.removeAll(keepingCapacity: true)
                state.head = 0
            }
            return .message(message)
        }
        return state.end
    }
}
