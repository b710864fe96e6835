#if canImport(FoundationEssentials)
package import FoundationEssentials
#else
package import Foundation
#endif
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
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
    /// The most stores open at once. Opening one more closes the least recently used store that no call, read
    /// or stream is using and that holds no live lease or worker registration (those live only in its memory);
    /// when every open store is in use, the registry goes over the bound (logged at Warn) and closes the excess
    /// as soon as stores fall out of use. Subscriptions do not keep a store open: they outlive its closing.
    ///
    /// An open file store holds 2 file descriptors while empty, 4 once written and 5 once read from disk (plus one
    /// per further 256 MiB log file read, and a recycled WAL at times), and up to ``StoreConfiguration/tailBytes``
    /// + ``StoreConfiguration/blockCacheBytes`` of memory when busy. So that open stores cannot run the process
    /// out of descriptors, the registry lowers the bound for file stores (logged at Warn) to what the process's
    /// open-file limit (`RLIMIT_NOFILE`) leaves after 256 descriptors, at 8 per store, but not below 16: with
    /// the common limit of 1,024 that is 96 stores; raise the limit (`ulimit -n`, `LimitNOFILE=`) for more.
    /// Values below 1 count as 1. Not applied to in-memory stores (closing one drops its data). Default 1,024.
    public var maxOpenStores = 1024
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
    /// (`<root>/<uuid-lowercased>`) and ``store``. Stores it returns are evicted like file stores. With an
    /// opener every store exists (reads open stores through it too) unless ``openerStoreExists`` says otherwise.
    package var opener: (@Sendable (UUID, String, StoreConfiguration) async throws -> Store)?
    /// With ``opener`` (tests): whether the store with this id and directory exists, asked before an open that
    /// must not create the store.
    package var openerStoreExists: (@Sendable (UUID, String) async -> Bool)?
    /// Whether the backend answers, asked by ``StoreRegistry/checkReadiness()`` (the server's readiness probe): it
    /// throws when the backend cannot serve (PostgreSQL: a round trip to the database; set by the PostgreSQL
    /// backend's registry configuration). Nil (files, memory): the backend is ready while the registry runs.
    package var readinessCheck: (@Sendable () async throws -> Void)?

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

    /// Whether stores live only in the registry's memory, so that a store without a slot was never written.
    var keepsStoresInMemory: Bool { !evictsIdleStores }

    /// Whole nanoseconds of `duration`: 0 when negative, `UInt64.max` when too long.
    static func nanoseconds(_ duration: Duration) -> UInt64 { UInt64(max(0, duration.nanoseconds)) }

    /// Descriptors budgeted per open file store (measured: 2 empty, 4 written, 5 after a read from disk; the rest
    /// is room for a recycled WAL, more log files read, and a sync in progress).
    static let descriptorsPerStore = 8
    /// Descriptors left for everything else (connections, the tools, the runtime).
    static let reservedDescriptors = 256
    /// The lowest bound the open-file limit can bring ``maxOpenStores`` down to.
    static let minimumOpenStoreLimit = 16

    /// The open-store bound the registry applies: ``maxOpenStores`` (at least 1), lowered for file stores to
    /// what `openFileLimit` descriptors allow (nil: unlimited or unknown), but not below
    /// ``minimumOpenStoreLimit``.
    func openStoreLimit(openFileLimit: Int?) -> Int {
        let configured = max(1, maxOpenStores)
        guard opener == nil, !inMemory, let openFileLimit else { return configured }
        let affordable = max(0, openFileLimit - Self.reservedDescriptors) / Self.descriptorsPerStore
        return min(configured, max(Self.minimumOpenStoreLimit, affordable))
    }

    /// The process's soft limit on open files (`RLIMIT_NOFILE`), or nil when unlimited or unknown.
    static var processOpenFileLimit: Int? {
        var limit = rlimit()
        #if canImport(Glibc)
        guard getrlimit(__rlimit_resource_t(RLIMIT_NOFILE.rawValue), &limit) == 0 else { return nil }
        #else
        guard getrlimit(RLIMIT_NOFILE, &limit) == 0 else { return nil }
        #endif
        return limit.rlim_cur == rlim_t.max ? nil : Int(clamping: limit.rlim_cur)
    }
}
