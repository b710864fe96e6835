public import StreamKitEngine

extension StreamKitClient {
    /// How a client reaches its stores.
    ///
    /// A struct with factories rather than an enum, so that adding a transport does not break `switch`
    /// statements: ``inProcess(_:)`` calls a registry in this process; ``webSocket(url:token:)`` and
    /// ``webSocket(_:)`` talk to a `StreamKitServer`.
    public struct Transport: Sendable {
        /// `inProcess` or `webSocket`, for the logs.
        let name: String
        let make: @Sendable (TransportContext) -> any ClientTransport

        /// Calls a `StoreRegistry` in this process directly: no serialisation, engine errors unchanged.
        ///
        /// The registry stays the caller's: ``StreamKitClient/close()`` does not shut it down.
        ///
        /// - Parameter registry: The stores to use.
        /// - Returns: The transport.
        public static func inProcess(_ registry: StoreRegistry) -> Transport {
            Transport(name: "inProcess") { context in InProcessTransport(registry: registry, context: context) }
        }

        /// Talks to a `StreamKitServer` over one multiplexed WebSocket, with the default ``WebSocketOptions``.
        ///
        /// The connection is dialled on the first call and re-established in the background (with backoff)
        /// when it is lost; `token` is called before every dial and sent as `Authorization: Bearer <token>`.
        /// Interrupted reads resume after the last delivered entry, subscriptions subscribe again; an
        /// interrupted produce fails with the retryable `storeUnavailable` and is never replayed.
        ///
        /// - Parameters:
        ///   - url: `ws://host[:port][/path]` (path default `/streamkit`).
        ///   - token: The bearer token provider; return nil to send none.
        /// - Returns: The transport.
        public static func webSocket(url: String, token: @escaping @Sendable () async throws -> String?) -> Transport {
            webSocket(WebSocketOptions(url: url, token: token))
        }

        /// Talks to a `StreamKitServer` over one multiplexed WebSocket, with the given settings.
        ///
        /// - Parameter options: The URL, the token provider, limits, reconnect and resume settings.
        /// - Returns: The transport.
        public static func webSocket(_ options: WebSocketOptions) -> Transport {
            Transport(name: "webSocket") { context in WebSocketTransport(options: options, context: context) }
        }
    }
}
