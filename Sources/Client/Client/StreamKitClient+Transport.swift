public import StreamKitEngine

extension StreamKitClient {
    /// How a client reaches its stores.
    ///
    /// A struct with factories rather than an enum, so that adding a transport does not break `switch`
    /// statements: ``inProcess(_:)`` now; `.webSocket(url, token:)` next, once the server exists.
    public struct Transport: Sendable {
        let make: @Sendable (TransportContext) -> any ClientTransport

        /// Calls a `StoreRegistry` in this process directly: no serialisation, engine errors unchanged.
        ///
        /// The registry stays the caller's: ``StreamKitClient/close()`` does not shut it down.
        ///
        /// - Parameter registry: The stores to use.
        /// - Returns: The transport.
        public static func inProcess(_ registry: StoreRegistry) -> Transport {
            Transport { context in InProcessTransport(registry: registry, context: context) }
        }
    }
}
