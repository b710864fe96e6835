#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// A store's acknowledgements on their way to its storage: positions acknowledged but not yet recorded, merged per
/// consumer, and written together — group commit for cursors, so that a consumer reading millions of entries
/// writes one record per flush, not one per entry.
///
/// - A **durable** acknowledgement joins the next write and returns once it is recorded (concurrent ones share it).
/// - A **deferred** one (automatic acknowledgement per batch) returns at once; a write follows within
///   ``StoreConfiguration/consumerFlushInterval``, or with the next durable one, or at ``close()``. If that write
///   refuses it (a newer reader's fencing token), the consumer's next acknowledgement with the same token throws.
///
/// State machine, one actor: `idle` (nothing pending) → `pending` (a write scheduled after the interval, or started
/// at once by a durable acknowledgement) → `writing` (one storage call in flight with everything pending when it
/// began; acknowledgements arriving meanwhile wait in `pending` for the next). Re-entrancy: ``drain()`` is the only
/// writer (``writing`` guards it); at each of its awaits new acknowledgements only add to `pending`.
actor ConsumerBook {
    private struct Pending {
        var position: ConsumerPosition
        var fencingToken: UInt64
        var time: Int64
        var waiters: [CheckedContinuation<Void, any Error>] = []
    }

    private let storage: any StoreStorage
    private let clock: EngineClock
    private let interval: UInt64
    private var pending: [String: Pending] = [:]
    /// Deferred acknowledgements the storage refused, by consumer and fencing token: thrown to the next one.
    private var refused: [String: (token: UInt64, error: StreamKitError)] = [:]
    private var writing = false
    /// ``flush()`` callers, resumed once nothing is pending or being written.
    private var flushWaiters: [CheckedContinuation<Void, Never>] = []
    private var scheduled: Task<Void, Never>?
    private var closed = false
    /// When each consumer's lag was last reported to the metrics (the store's clock).
    private var lagReported: [String: UInt64] = [:]

    init(storage: any StoreStorage, clock: EngineClock, interval: Duration) {
        self.storage = storage
        self.clock = clock
        self.interval = RegistryConfiguration.nanoseconds(interval)
    }

    /// The positions acknowledged and not yet recorded, by consumer.
    func unrecorded() -> [String: ConsumerPosition] { pending.mapValues(\.position) }

    /// Adds an acknowledgement; a durable one returns once recorded.
    /// - Returns: Whether the consumer's lag is due for the metrics (``lagReportDue(_:)``), so that the store needs
    ///   no second hop onto this actor to ask.
    /// - Throws: `leaseNotHeld` (fenced: a higher token acknowledged), `notFound` (no such consumer), storage errors.
    @discardableResult
    func acknowledge(
        _ name: String, position: ConsumerPosition, fencingToken: UInt64, time: Int64, durable: Bool
    )
        async throws -> Bool
    {
        guard !closed else { throw StreamKitError.storeClosing }
        if let refusal = refused[name], refusal.token == fencingToken {
            refused[name] = nil
            throw refusal.error
        }
        if var entry = pending[name] {
            if fencingToken < entry.fencingToken {
                throw StreamKitError.consumerFenced(name, offered: fencingToken, current: entry.fencingToken)
            }
            if fencingToken > entry.fencingToken {  // A newer reader: the older one's unrecorded position goes.
                let fenced = StreamKitError.consumerFenced(name, offered: entry.fencingToken, current: fencingToken)
                for waiter in entry.waiters { waiter.resume(throwing: fenced) }
                entry = Pending(position: position, fencingToken: fencingToken, time: time)
            } else {
                entry.position.merge(position)
                entry.time = max(entry.time, time)
            }
            pending[name] = entry
        } else {
            pending[name] = Pending(position: position, fencingToken: fencingToken, time: time)
        }
        guard durable else {
            schedule()
            return lagReportDue(name)
        }
        try await withCheckedThrowingContinuation { continuation in
            pending[name]?.waiters.append(continuation)
            startWriting()
        }
        return lagReportDue(name)
    }

    /// Whether `name`'s lag is due for the metrics (at most once per ``consumerFlushInterval``, at least once a
    /// second); notes it as reported.
    private func lagReportDue(_ name: String) -> Bool {
        let now = clock.now()
        if let last = lagReported[name], now &- last < min(interval, 1_000_000_000) { return false }
        lagReported[name] = now
        return true
    }

    /// Forgets what is pending for `name` (the consumer is being deleted); its durable waiters get `notFound`.
    func forget(_ name: String) {
        lagReported[name] = nil
        for waiter in pending.removeValue(forKey: name)?.waiters ?? [] {
            waiter.resume(throwing: StreamKitError.consumerNotFound(name))
        }
        refused[name] = nil
    }

    /// Records everything pending now (the store is closing, or a caller wants it durable); storage errors go to the
    /// acknowledgements' waiters, or to the consumers' next acknowledgement.
    func flush() async {
        scheduled?.cancel()
        scheduled = nil
        guard writing || !pending.isEmpty else { return }
        await withCheckedContinuation {
            flushWaiters.append($0)
            startWriting()
        }
    }

    /// Records what is pending; later acknowledgements fail with `storeClosing`.
    func close() async {
        closed = true
        await flush()
    }

    private func schedule() {
        guard scheduled == nil, !writing else { return }
        let clock = self.clock
        let interval = self.interval
        scheduled = Task {
            try? await clock.sleep(interval)
            self.startFromSchedule()
        }
    }

    private func startFromSchedule() {
        scheduled = nil
        startWriting()
    }

    private func startWriting() {
        guard !writing, !pending.isEmpty else { return }
        writing = true
        Task { await self.drain() }
    }

    /// Writes what is pending, batch after batch, until nothing is.
    private func drain() async {
        while !pending.isEmpty {
            let batch = pending.sorted { $0.key < $1.key }
            pending.removeAll()
            let changes = batch.map {
                ConsumerChange.advance(
                    name: $0.key, position: $0.value.position, fencingToken: $0.value.fencingToken, time: $0.value.time)
            }
            let outcomes: [Result<Consumer?, StreamKitError>]
            do {
                outcomes = try await storage.recordConsumers(changes)
            } catch {
                let failure = StreamKitError.storage(error)
                outcomes = Array(repeating: .failure(failure), count: batch.count)
            }
            for ((name, entry), outcome) in zip(batch, outcomes) {
                switch outcome {
                case .success:
                    for waiter in entry.waiters { waiter.resume() }
                case .failure(let error):
                    if entry.waiters.isEmpty { refused[name] = (entry.fencingToken, error) }
                    for waiter in entry.waiters { waiter.resume(throwing: error) }
                }
            }
        }
        writing = false
        for waiter in flushWaiters { waiter.resume() }
        flushWaiters.removeAll()
    }
}
