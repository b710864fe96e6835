/// Flow-control credit for one stream: how many more messages, and how many more bytes (whole mux frames), the
/// peer may send on it.
///
/// A sender may send a data frame while it has at least one message and more than zero bytes of credit; the
/// frame's size is then taken from the byte credit, which may go below zero by at most one frame (so a message
/// larger than the window can still pass, alone). The receiver grants more as its application consumes.
public struct MuxCredit: Hashable, Sendable, CustomStringConvertible {
    /// Messages granted.
    public var messages: Int
    /// Bytes granted.
    public var bytes: Int

    /// The most credit either count may reach (2³¹ − 1); a grant past it is a protocol violation.
    public static let maxWindow = Int(Int32.max)

    /// Creates a grant.
    ///
    /// - Parameters:
    ///   - messages: Messages granted (negative values count as 0).
    ///   - bytes: Bytes granted (negative values count as 0).
    public init(messages: Int, bytes: Int) {
        self.messages = max(0, messages)
        self.bytes = max(0, bytes)
    }

    /// No credit.
    public static let zero = MuxCredit(messages: 0, bytes: 0)

    public var description: String { "\(messages) messages, \(bytes) bytes" }
}
