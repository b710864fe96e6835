/// Where a stream is in its life, seen from one side of the connection.
public enum MuxStreamState: Hashable, Sendable {
    /// The id was never used on this connection.
    case idle
    /// Both sides may send.
    case open
    /// This side closed its half (sends no more data); the peer may still send.
    case halfClosedLocal
    /// The peer closed its half; this side may still send.
    case halfClosedRemote
    /// Both halves are finished, or the stream ended with an error.
    case closed
}
