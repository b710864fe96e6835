/// Why a stream ended with an error, which decides what may be done about it.
enum StreamFailure: Sendable, Hashable {
    /// The server failed the request (or the client ended the stream): rethrow the typed error unchanged.
    case server
    /// The connection was lost under the stream; the request may or may not have been applied. Reads may resume
    /// and subscriptions re-subscribe; nothing else is sent again.
    case connectionLost
    /// The server's go-away said it never accepted the stream: the request was not applied and may be sent again
    /// on another connection.
    case refused
}
