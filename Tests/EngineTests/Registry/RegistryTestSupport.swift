import Foundation
import Logging
import StreamKitLogFiles
import StreamKitTestSupport
import Synchronization
import Testing

@testable import StreamKitEngine

/// Settings and helpers shared by the registry tests.
enum RegistryFixture {
    static let second: UInt64 = 1_000_000_000
    static let idleTimeout: UInt64 = 15 * 60 * second
    static let failFast: UInt64 = 30 * second

    /// Registry settings on `clock`, quiet, opening through `probe` when given.
    static func configuration(clock: ManualClock, probe: OpenerProbe? = nil) -> RegistryConfiguration {
        var configuration = RegistryConfiguration(store: StoreFixture.quiet())
        configuration.store.clock = clock.engineClock
        configuration.store.logger.logLevel = .critical
        configuration.opener = probe?.opener
        configuration.openerStoreExists = probe?.storeExists
        return configuration
    }

    /// Yields until `condition` holds, for at most 10 s of wall time (never sleeps).
    static func eventually(_ condition: () async -> Bool) async -> Bool {
        let deadline = ContinuousClock.now + .seconds(45)  // Only a failing test waits this long; CI may be loaded.
        while ContinuousClock.now < deadline {
            if await condition() { return true }
            await Task.yield()
        }
        return await condition()
    }

    /// Runs `operation` in a task of its own and returns its result, or nil when it has not finished within
    /// 10 s of wall time, so that a regression that hangs fails the test instead of hanging the run.
    static func bounded<T: Sendable>(_ operation: @escaping @Sendable () async throws -> T) async throws -> T? {
        let outcome = Outcome<T>()
        Task {
            do { outcome.set(.success(try await operation())) } catch { outcome.set(.failure(error)) }
        }
        _ = await eventually { outcome.get() != nil }
        return try outcome.get()?.get()
    }

    /// A fresh directory path under the temporary directory (not created).
    static func temporaryDirectory() -> String {
        NSTemporaryDirectory() + "streamkit-registry-" + UUID().uuidString
    }
}

/// The result of a task, once it has one.
final class Outcome<T: Sendable>: Sendable {
    private let state = Mutex<Result<T, any Error>?>(nil)

    func set(_ result: Result<T, any Error>) { state.withLock { $0 = result } }
    func get() -> Result<T, any Error>? { state.withLock { $0 } }
}

/// A one-shot latch: `wait()` suspends until `open()` (and returns at once afterwards).
final class Latch: Sendable {
    private let state = Mutex<(isOpen: Bool, waiters: [CheckedContinuation<Void, Never>])>((false, []))

    func wait() async {
        await withCheckedContinuation { continuation in
            let resumeNow = state.withLock { state -> Bool in
                if state.isOpen { return true }
                state.waiters.append(continuation)
                return false
            }
            if resumeNow { continuation.resume() }
        }
    }

    func open() {
        let waiters = state.withLock { state -> [CheckedContinuation<Void, Never>] in
            state.isOpen = true
            defer { state.waiters.removeAll() }
            return state.waiters
        }
        for waiter in waiters { waiter.resume() }
    }
}

/// An injectable opener that counts opens per store, can fail them, and can hold them on a latch. A store exists
/// once it has been opened; existence checks (made before opens that must not create) are counted and can be
/// held on a latch too.
final class OpenerProbe: Sendable {
    private struct State {
        var opens: [UUID: Int] = [:]
        var failing = false
        var latch: Latch?
        var heldIDs: Set<UUID>?
        var existing: Set<UUID> = []
        var existenceChecks: [UUID: Int] = [:]
        var existenceLatch: Latch?
    }

    private let state = Mutex(State())
    private let makeStore: @Sendable (UUID, StoreConfiguration) -> Store

    /// - Parameter makeStore: Builds the store an open returns (an in-memory store by default).
    init(
        makeStore: @escaping @Sendable (UUID, StoreConfiguration) -> Store = {
            Store.inMemory(id: $0, configuration: $1)
        }
    ) {
        self.makeStore = makeStore
    }

    /// The error a failing open throws.
    static let failure = StreamKitError(code: .storage, message: "disk on fire")

    /// Opens started for `id`.
    func opens(of id: UUID) -> Int { state.withLock { $0.opens[id] ?? 0 } }

    /// Existence checks made for `id`.
    func existenceChecks(of id: UUID) -> Int { state.withLock { $0.existenceChecks[id] ?? 0 } }

    /// Makes later existence checks wait for `latch` before answering.
    func holdExistenceChecks(on latch: Latch?) { state.withLock { $0.existenceLatch = latch } }

    /// Answers whether a store exists (it does once opened).
    var storeExists: @Sendable (UUID, String) async -> Bool {
        { [self] id, _ in
            let latch = state.withLock { state -> Latch? in
                state.existenceChecks[id, default: 0] += 1
                return state.existenceLatch
            }
            if let latch { await latch.wait() }
            return state.withLock { $0.existing.contains(id) }
        }
    }

    /// Makes later opens fail (or succeed again).
    func setFailing(_ failing: Bool) { state.withLock { $0.failing = failing } }

    /// Makes later opens (of `ids`, or of every store when nil) wait for `latch` before finishing.
    func hold(on latch: Latch?, ids: Set<UUID>? = nil) {
        state.withLock {
            $0.latch = latch
            $0.heldIDs = ids
        }
    }

    var opener: @Sendable (UUID, String, StoreConfiguration) async throws -> Store {
        { [self] id, _, configuration in
            let (failing, latch) = state.withLock { state -> (Bool, Latch?) in
                state.opens[id, default: 0] += 1
                let held = state.heldIDs.map { $0.contains(id) } ?? true
                return (state.failing, held ? state.latch : nil)
            }
            if let latch { await latch.wait() }
            if failing { throw Self.failure }
            state.withLock { _ = $0.existing.insert(id) }
            return makeStore(id, configuration)
        }
    }
}

/// An in-memory log whose `close()` waits for a latch, to hold a store in the middle of closing.
final class CloseGatedStorage: StoreStorage {
    private let base = MemoryStorage()
    private let latch: Latch

    init(latch: Latch) { self.latch = latch }

    func append(_ transaction: TransactionInput) async throws -> CommittedTransaction {
        try await base.append(transaction)
    }
    func blockIndex(containing position: UInt64) -> Int? { base.blockIndex(containing: position) }
    func block(at index: Int) -> LogBlock? { base.block(at: index) }
    func readBlock(at index: Int) throws -> [Entry] { try base.readBlock(at: index) }
    func takeSealedBlocks() -> [SealedBlock] { base.takeSealedBlocks() }
    func flush() async throws { try await base.flush() }
    func close() async {
        await latch.wait()
        await base.close()
    }
}
