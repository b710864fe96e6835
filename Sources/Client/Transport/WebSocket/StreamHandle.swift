import StreamKitEngine
import StreamKitWire

/// The consumer's end of one open stream: takes its events from the ``StreamInbox`` and acknowledges read
/// messages in small batches (one hop per batch, and always before waiting, so the server never starves for
/// credit). Dropping a handle before its stream ended resets the stream, so an abandoned read or produce stops
/// on the server too.
///
/// Not `Sendable`: one task consumes a stream.
final class StreamHandle {
    let connection: ClientConnection
    let id: UInt64
    let inbox: StreamInbox
    /// Messages taken but not yet acknowledged (reads only).
    private var unacknowledged = 0
    private let acknowledgeEvery: Int
    private var ended = false
    /// Runs when the handle goes away (stops a produce's upload).
    var onRelease: (@Sendable () -> Void)?

    init(connection: ClientConnection, id: UInt64, inbox: StreamInbox, queueDepth: Int) {
        self.connection = connection
        self.id = id
        self.inbox = inbox
        acknowledgeEvery = max(1, queueDepth / 4)
    }

    deinit {
        onRelease?()
        if !ended {
            let connection = connection
            let id = id
            Task { await connection.cancel(id) }
        }
    }

    /// The stream's next event.
    ///
    /// - Throws: `CancellationError` when the task is cancelled.
    func next() async throws -> InboxEvent {
        if unacknowledged > 0, inbox.isEmpty { await acknowledge() }
        let event = try await inbox.next()
        switch event {
        case .message:
            if !inbox.autoConsume {
                unacknowledged += 1
                if unacknowledged >= acknowledgeEvery { await acknowledge() }
            }
        case .finished:
            if unacknowledged > 0 { await acknowledge() }
            ended = true
        case .failed, .lost, .refused:
            ended = true
        }
        return event
    }

    /// The stream needs nothing more from the server (a one-shot answer arrived): dropping the handle no longer
    /// resets it.
    func markEnded() {
        ended = true
    }

    private func acknowledge() async {
        let count = unacknowledged
        unacknowledged = 0
        await connection.consumed(id, count: count)
    }
}
