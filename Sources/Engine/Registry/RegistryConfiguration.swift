#if canImport(FoundationEssentials)
package import FoundationEssentials
#else
package import Foundation
#endif

/// Settings of a ``StoreRegistry``: how stores are opened, when idle ones are closed, and the circuit
/// breaker that stops a failing store from being reopened on every call.
public struct RegistryConfiguration: Sendable {
    /// Settings of every store the registry opens. Its `clock` drives idle eviction and the circuit breaker,
    /// and its `logger` receives the registry's logs.
    public var store = StoreConfiguration()
    /// A store with no call in progress and none for this long is closed (its files released); the next call
    /// reopens it. Default 15 minutes.
    public var idleTimeout: Duration = .seconds(15 * 60)
    /// How often the background sweep started by ``StoreRegistry/start()`` looks for idle stores. Zero or
    /// negative disables the sweep (``StoreRegistry/evictIdle()`` can still be called). Default 1 minute.
    public var sweepInterval: Duration = .seconds(60)
    /// Consecutive failed opens of one store after which calls fail fast. Values below 1 count as 1.
    /// Default 3.
    public var failureThreshold = 3
    /// How long calls fail fast with `storeUnavailable` once the breaker is open; then one trial open is
    /// let through. Default 30 seconds.
    public var failFastDuration: Duration = .seconds(30)
    /// The most stores whose open failures are remembered; beyond it the least recently failed is
    /// forgotten. Values below 1 count as 1. Default 1,024.
    public var maxTrackedFailures = 1024
    /// Keep stores in memory only (tests, the in-process client): nothing touches `root`. In-memory stores
    /// are never evicted for idleness, since closing one drops its data; ``StoreRegistry/shutdown()`` closes
    /// them. Default false.
    public var inMemory = false
    /// Replaces how stores are opened (tests): called with the store id, its directory
    /// (`<root>/<uuid-lowercased>`) and ``store``. Stores it returns are evicted like file stores.
    package var opener: (@Sendable (UUID, String, StoreConfiguration) async throws -> Store)?

    /// The default settings.
    public init() {}

    /// The default settings with the given store settings.
    /// - Parameter store: Settings of every store the registry opens.
    public init(store: StoreConfiguration) {
        self.store = store
    }
}

// MARK: - Normalised values

extension RegistryConfiguration {
    var idleTimeoutNanoseconds: UInt64 { Self.nanoseconds(idleTimeout) }
    var sweepIntervalNanoseconds: UInt64 { Self.nanoseconds(sweepInterval) }
    var failFastNanoseconds: UInt64 { Self.nanoseconds(failFastDuration) }

    /// Whether idle stores can be closed without losing data.
    var evictsIdleStores: Bool { opener != nil || !inMemory }

    /// Whole nanoseconds of `duration`: 0 when negative, `UInt64.max` when too long.
    static func nanoseconds(_ duration: Duration) -> UInt64 {
        let (seconds, attoseconds) = duration.components
        guard seconds >= 0, attoseconds >= 0 else { return 0 }
        let (whole, overflow) = UInt64(seconds).multipliedReportingOverflow(by: 1_000_000_000)
        guard !overflow else { return .max }
        let (total, carry) = whole.addingReportingOverflow(UInt64(attoseconds / 1_000_000_000))
        return carry ? .max : total
    }
}
