import Logging
public import StreamKitEngine
import Synchronization

#if canImport(FoundationEssentials)
public import FoundationEssentials
#else
public import Foundation
#endif

// MARK: - Leases

extension StreamKitClient {
    /// Acquires the lease on `key` for `holder` (or refreshes it when `holder` holds it), without renewing it: the
    /// caller renews with ``renewLease(store:_:)`` before `Lease.expiresAt` and releases with
    /// ``releaseLease(store:_:)``. ``withLease(store:key:ttl:holder:_:)`` does all of this for a body of work.
    /// - Parameters:
    ///   - store: The store that holds the lease.
    ///   - key: What the lease protects (1–256 UTF-8 bytes).
    ///   - ttl: How long the lease lasts without renewal (1 s – 24 h).
    ///   - holder: Who holds it (1–256 UTF-8 bytes).
    /// - Returns: The lease with its fencing token, or nil while another holder's lease is live.
    /// - Throws: `invalidArgument` for a bad key, holder or ttl; `limitExceeded`; `storeClosing` after close.
    public func acquireLease(store: UUID, key: String, ttl: Duration, holder: String) async throws -> Lease? {
        try await observer.run("acquireLease", .init(store: store)) {
            try check(store: store, names: [])
            return try await transport.acquireLease(
                store: store, key: key, holder: holder, ttlSeconds: Self.seconds(ttl))
        }
    }

    /// Renews a lease the caller holds for its time to live from now (same fencing token). Tried once: a caller
    /// that gets a retryable error (`storeUnavailable` when the connection dropped) may try again while the lease
    /// has not expired.
    /// - Parameters:
    ///   - store: The store that holds the lease.
    ///   - lease: The lease, as acquired or last renewed.
    /// - Returns: The renewed lease.
    /// - Throws: `leaseNotHeld` when it expired, was released or was taken; `storeUnavailable` (retryable).
    public func renewLease(store: UUID, _ lease: Lease) async throws -> Lease {
        try await observer.run("renewLease", .init(store: store)) {
            try check(store: store, names: [])
            return try await transport.renewLease(store: store, lease: lease)
        }
    }

    /// Releases a lease the caller holds; the next acquisition gets a higher fencing token.
    /// - Parameters:
    ///   - store: The store that holds the lease.
    ///   - lease: The lease.
    /// - Throws: `leaseNotHeld` when it is no longer held.
    public func releaseLease(store: UUID, _ lease: Lease) async throws {
        try await observer.run("releaseLease", .init(store: store)) {
            try check(store: store, names: [])
            try await transport.releaseLease(store: store, lease: lease)
        }
    }

    static func seconds(_ duration: Duration) -> Double {
        Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18
    }

    /// Runs `body` while holding the lease on `key`, and cancels it as soon as the lease is lost.
    ///
    /// The lease is acquired with a fresh holder id, renewed every `ttl / 2` on the client's clock, and
    /// released when `body` ends. A renewal that fails with a retryable error (`storeUnavailable`, `overloaded`: a
    /// dropped connection, a server restarting) is tried again while the lease still holds, until a safety margin
    /// before it would expire (`LeaseScope.margin(ttl:)`: a fifth of the ttl, at most 5 s, counted from when the
    /// last successful renewal was sent). If a renewal fails for good — the lease expired or was taken, or the
    /// margin is reached — `body`'s task is cancelled and `withLease` throws `leaseNotHeld`, even if `body`
    /// returned meanwhile: work done under a lost lease must not be trusted. (The Go client only logged renewal
    /// transport errors and kept running: a split-brain risk.)
    ///
    /// Cancellation is cooperative: `body` must check it (`try Task.checkCancellation()`, or a cancellable
    /// await). Pass `Lease.fencingToken` to whatever the lease protects, and have it refuse tokens lower than
    /// the highest it has seen: that fences off a holder paused past its expiry.
    ///
    /// - Parameters:
    ///   - store: The store that holds the lease.
    ///   - key: What the lease protects (1–256 UTF-8 bytes).
    ///   - ttl: How long the lease lasts without renewal (1 s – 24 h).
    ///   - holder: Who holds it; a random UUID by default.
    ///   - body: The work, given the lease (its `fencingToken`).
    /// - Returns: What `body` returns.
    /// - Throws: `leaseNotHeld` when another holder holds the lease, or when it was lost while `body` ran;
    ///   `invalidArgument` for a bad key or ttl; `storeClosing` after close (and when the client closes
    ///   under `body`, which is then cancelled); what `body` throws.
    public func withLease<T: Sendable>(
        store: UUID, key: String, ttl: Duration, holder: String = UUID().uuidString,
        _ body: @escaping @Sendable (Lease) async throws -> T
    ) async throws -> T {
        let ttlSeconds = Self.seconds(ttl)
        let lease = try await observer.run("acquireLease", .init(store: store)) {
            try check(store: store, names: [])
            guard
                let lease = try await transport.acquireLease(
                    store: store, key: key, holder: holder, ttlSeconds: ttlSeconds)
            else { throw StreamKitError.leaseNotAcquired(key: key, storeID: store) }
            return lease
        }
        var metadata: Logger.Metadata = [
            "store_id": "\(store)", "lease_key": "\(key)", "fencing_token": "\(lease.fencingToken)",
        ]
        logger.debug("lease acquired", metadata: metadata)
        let scope = LeaseScope.over(
            transport: transport, observer: observer, clock: configuration.clock, store: store, logger: logger)
        let result = Mutex<Result<T, any Error>?>(nil)
        guard
            let task = background.start({
                let outcome = await scope.run(lease: lease, body)
                result.withLock { $0 = outcome }
            })
        else {
            try? await scope.release(lease)
            throw StreamKitError.clientClosed(storeID: store)
        }
        await withTaskCancellationHandler {
            await task.task.value
        } onCancel: {
            task.task.cancel()
        }
        let outcome = result.withLock { $0 } ?? .failure(CancellationError())
        if case .failure(let error) = outcome, !lifecycle.isOpen, error is CancellationError {
            metadata["error"] = "\(error)"
            logger.debug("lease body cancelled by close", metadata: metadata)
            throw StreamKitError.clientClosed(storeID: store)
        }
        return try outcome.get()
    }
}

/// One lease scope: the body and its renewer racing in a task group.
///
/// Renewal, as a state machine per lease: `held(until: sent + ttl)` → every `ttl / 2` a renewal; success →
/// `held(until: its send time + ttl)`; a retryable failure → `retrying` (another attempt every
/// ``retryInterval(ttl:)``) while the clock is before `until − margin`; a permanent failure, or reaching
/// `until − margin` → `lost` (the body is cancelled). One attempt is bounded by the transport (a WebSocket
/// connection that goes silent fails its calls with `storeUnavailable` after `MuxLimits.silenceTimeout`); one that
/// fails after `until − margin` loses the lease.
struct LeaseScope: Sendable {
    let clock: EngineClock
    let store: UUID
    let logger: Logger
    /// One renewal (no retries of its own).
    let renewOnce: @Sendable (Lease) async throws -> Lease
    /// One release.
    let releaseOnce: @Sendable (Lease) async throws -> Void

    /// A scope renewing and releasing through `transport`, each call in its own span.
    static func over(
        transport: any ClientTransport, observer: OperationObserver, clock: EngineClock, store: UUID, logger: Logger
    ) -> LeaseScope {
        LeaseScope(
            clock: clock, store: store, logger: logger,
            renewOnce: { lease in
                try await observer.run("renewLease", .init(store: store)) {
                    try await transport.renewLease(store: store, lease: lease)
                }
            },
            releaseOnce: { lease in
                try await observer.run("releaseLease", .init(store: store)) {
                    try await transport.releaseLease(store: store, lease: lease)
                }
            })
    }

    /// How long before a lease would expire a renewer stops retrying: a fifth of the ttl, at most 5 s.
    static func margin(ttl: UInt64) -> UInt64 { min(ttl / 5, 5_000_000_000) }

    /// The pause between renewal attempts after a retryable failure: a tenth of the ttl, 50 ms – 1 s.
    static func retryInterval(ttl: UInt64) -> UInt64 { min(max(ttl / 10, 50_000_000), 1_000_000_000) }

    private enum Event<T: Sendable>: Sendable {
        case finished(Result<T, any Error>)
        /// The renewer stopped: with the renewal error, or nil when it was cancelled.
        case renewerStopped((any Error)?)
    }

    func run<T: Sendable>(
        lease: Lease, _ body: @escaping @Sendable (Lease) async throws -> T
    ) async
        -> Result<T, any Error>
    {
        let acquiredAt = clock.now()
        let outcome = await withTaskGroup(of: Event<T>.self) { group -> Result<T, any Error> in
            group.addTask {
                do { return .finished(.success(try await body(lease))) } catch { return .finished(.failure(error)) }
            }
            group.addTask { .renewerStopped(await renew(lease, heldFrom: acquiredAt)) }
            var result: Result<T, any Error>?
            var lost: (any Error)?
            while let event = await group.next() {
                switch event {
                case .finished(let finished):
                    result = finished
                    group.cancelAll()
                case .renewerStopped(let error?) where result == nil:
                    lost = error
                    group.cancelAll()
                case .renewerStopped:
                    break
                }
            }
            if let lost {
                logger.warning(
                    "lease lost: body cancelled",
                    metadata: [
                        "store_id": "\(store)", "lease_key": "\(lease.key)", "fencing_token": "\(lease.fencingToken)",
                        "error": "\(lost)",
                    ])
                return .failure(StreamKitError.leaseLost(key: lease.key, storeID: store, cause: lost))
            }
            return result ?? .failure(CancellationError())
        }
        if case .failure(let error) = outcome, (error as? StreamKitError)?.code == .leaseNotHeld {
            return outcome  // lost: nothing to release
        }
        do {
            try await release(lease)
        } catch {
            logger.warning(
                "lease release failed",
                metadata: ["store_id": "\(store)", "lease_key": "\(lease.key)", "error": "\(error)"])
        }
        return outcome
    }

    /// Releases the lease.
    func release(_ lease: Lease) async throws { try await releaseOnce(lease) }

    /// Renews every ttl/2 until cancelled (returns nil) or the lease is lost (returns why).
    private func renew(_ lease: Lease, heldFrom start: UInt64) async -> (any Error)? {
        let interval = max(lease.ttl / 2, 1)
        var current = lease
        var heldUntil = start &+ lease.ttl
        while true {
            do { try await clock.sleep(interval) } catch { return nil }
            if Task.isCancelled { return nil }
            let giveUpAt = heldUntil &- Self.margin(ttl: current.ttl)
            while true {
                let sent = clock.now()
                guard sent < giveUpAt else { return Self.gaveUp(lease, margin: Self.margin(ttl: current.ttl)) }
                do {
                    current = try await renewOnce(current)
                    heldUntil = sent &+ current.ttl
                    break
                } catch {
                    if Task.isCancelled && error is CancellationError { return nil }
                    guard let failure = error as? StreamKitError, failure.isRetryable, failure.code != .storeClosing
                    else {
                        return error
                    }
                    logger.debug(
                        "lease renewal failed; retrying",
                        metadata: ["store_id": "\(store)", "lease_key": "\(lease.key)", "error": "\(error)"])
                    let now = clock.now()
                    guard now < giveUpAt else { return Self.gaveUp(lease, margin: Self.margin(ttl: current.ttl)) }
                    do { try await clock.sleep(min(Self.retryInterval(ttl: current.ttl), giveUpAt - now)) } catch {
                        return nil
                    }
                    if Task.isCancelled { return nil }
                }
            }
        }
    }

    private static func gaveUp(_ lease: Lease, margin: UInt64) -> StreamKitError {
        StreamKitError(
            code: .leaseNotHeld,
            message:
                "renewals of lease '\(lease.key)' kept failing until \(margin / 1_000_000) ms before it would expire")
    }
}
