public import StreamKitClient

/// The most one save may hold: what the store commits in one transaction.
///
/// A produce bigger than one transaction is cut into several, and those committed before a failure stay
/// committed. ``AggregateRepository`` refuses such a save (``EventSourcingError/Code/saveTooLarge``) rather than
/// write part of it, so that a save is all or nothing. The client cannot ask the store for its limits, so these
/// must match the store's (`StoreConfiguration.maxRecordsPerTransaction` and
/// `StoreConfiguration.maxTransactionBytes`; over WebSocket, also at most the client's wire limits: `maxBatchCount`
/// records and half of `maxMessageBytes`). The defaults are the store's and the wire's defaults.
public struct SaveLimits: Sendable, Hashable {
    /// Most events in one save. Default 10,000.
    public var maxEvents: Int
    /// Most payload bytes of the events of one save, metadata not counted (a save of one event may be larger:
    /// a single record gets a transaction of its own, up to the store's payload limit). Default 4 MiB.
    public var maxBytes: Int

    /// Creates limits.
    ///
    /// - Parameters:
    ///   - maxEvents: Most events in one save.
    ///   - maxBytes: Most payload bytes of the events of one save.
    public init(maxEvents: Int = 10_000, maxBytes: Int = 4 << 20) {
        self.maxEvents = maxEvents
        self.maxBytes = maxBytes
    }

    /// The limits of a store configured with `configuration`.
    ///
    /// - Parameter configuration: The store's settings (for the in-process transport, the registry's
    ///   `RegistryConfiguration.store`; over WebSocket, the server's).
    public init(store configuration: StoreConfiguration) {
        self.init(maxEvents: configuration.maxRecordsPerTransaction, maxBytes: configuration.maxTransactionBytes)
    }
}
