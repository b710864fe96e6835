public import FoundationEssentials
public import StreamKitEngine

/// What the owner of a ``MuxConnection`` must do after feeding it a frame or a tick.
public enum MuxAction: Hashable, Sendable {
    /// Write this frame to the transport as one binary message.
    case send([UInt8])
    /// The peer opened a stream with its first request, the store it addresses (nil for connection-level
    /// requests) and trace context. Call ``MuxConnection/consumed(_:count:)`` once the request is taken, like
    /// any message.
    case streamOpened(streamID: UInt64, store: UUID?, request: WireMessage, traceparent: String?)
    /// A message arrived on a stream. Call ``MuxConnection/consumed(_:count:)`` when the application has taken
    /// it: that is what grants the peer more credit.
    case message(streamID: UInt64, message: WireMessage)
    /// The peer finished its half of the stream; no more messages follow on it.
    case streamFinished(streamID: UInt64)
    /// The stream ended with an error, from the peer or from a limit this side enforced (then an error frame was
    /// also sent); drop what is buffered for it.
    case streamReset(streamID: UInt64, error: StreamKitError)
    /// The stream has credit again: blocked sends on it may go on.
    case writable(streamID: UInt64)
    /// The peer sends go-away: open no new streams; ours above `lastStreamID` were reset with `storeUnavailable`.
    case goAwayReceived(lastStreamID: UInt64, error: StreamKitError?)
    /// The connection is over (protocol violation or silence timeout): close the transport.
    case closeConnection(error: StreamKitError)
}
