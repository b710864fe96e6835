import StreamKitEngine
import StreamKitWire

/// Where a ``ClientConnection`` puts what arrives on one stream. Called on the connection's actor, once per
/// received frame, so implementations only take a lock and maybe resume one waiter.
protocol StreamReceiver: AnyObject, Sendable {
    /// A message arrived.
    ///
    /// - Returns: true when the message is taken at once (the connection frees it and grants credit now);
    ///   false when the consumer acknowledges it later with ``ClientConnection/consumed(_:count:)``.
    func deliver(_ message: WireMessage) -> Bool
    /// The server finished the stream: no more messages.
    func finish()
    /// The stream ended with an error.
    ///
    /// - Parameters:
    ///   - error: The server's typed error, or why the connection ended.
    ///   - reason: Whether the server failed the request, the connection was lost under it (reads may resume and
    ///     subscriptions re-subscribe), or the server never accepted it (it may be sent again).
    func fail(_ error: StreamKitError, reason: StreamFailure)
    /// The server accepted the stream (its first credit arrived; `docs/protocol.md` §7). May be called again when
    /// more credit arrives after a sender waited for it.
    func accepted()
}

extension StreamReceiver {
    /// Most receivers need not know: their answers say it.
    func accepted() {}
}
