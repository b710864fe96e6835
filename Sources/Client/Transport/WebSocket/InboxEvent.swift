import StreamKitEngine
import StreamKitWire

/// What a stream's consumer gets next from a ``StreamInbox``.
enum InboxEvent: Sendable {
    /// A message from the server.
    case message(WireMessage)
    /// The server finished the stream.
    case finished
    /// The server failed the request with this typed error, or the client ended the stream locally (for
    /// instance the records of a produce failed); rethrow it unchanged.
    case failed(any Error)
    /// The connection was lost under the stream (`storeUnavailable`, retryable).
    case lost(StreamKitError)
    /// The server went away without accepting the stream: the request was not applied.
    case refused(StreamKitError)
}
