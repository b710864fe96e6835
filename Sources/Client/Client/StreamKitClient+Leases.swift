#if canImport(FoundationEssentials)
public import FoundationEssentials
#else
public import Foundation
#endif
import Logging
import Synchronization
public import StreamKitEngine

// MARK: - Leases

extension StreamKitClient {
    /// Runs `body` while holding the lease on `key`, and cancels it as soon as the lease is lost.
    ///
    /// The lease is acquired with a fresh holder id, renewed every `ttl / 2` on the client's clock, and
    /// released when `body` ends. If a renewal fails **for any reason** — the lease expired or was taken, the
    /// store is closing, the connection dropped — `body`'s task is cancelled at once and `withLease` throws
    /// `leaseNotHeld`, even if `body` returned meanwhile: work done under a lost lease must not be trusted.
    /// (The Go client only logged renewal transport errors and kept running: a split-brain risk.)
    ///
    /// Cancellation is cooperative: `body` must check it (`try Task.checkCancellation()`, or a cancellable
    /// await). Pass ``Lease/fencingToken`` to whatever the lease protects, and have it refuse tokens lower than
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
        let ttlSeconds = Double(ttl.components.seconds) + Double(ttl.components.attoseconds) / 1e18
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
        let scope = LeaseScope(
            transport: transport, clock: configuration.clock, store: store, logger: logger, observer: observer)
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
struct LeaseScope: Sendable {
    let transport: any ClientTransport
    let clock: EngineClock
    let store: UUID
    let logger: Logger
    let observer: OperationObserver

    private enum Event<T: Sendable>: Sendable {
        case finished(Result<T, any Error>)
        /// The renewer stopped: with the renewal error, or nil when it was cancelled.
        case renewerStopped((any Error)?)
    }

    func run<T: Sendable>(lease: Lease, _ body: @escaping @Sendable (Lease) async throws -> T) async
        -> Result<T, any Error>
    {
        let outcome = await withTaskGroup(of: Event<T>.self) { group -> Result<T, any Error> in
            group.addTask {
                do { return .finished(.success(try await body(lease))) } catch { return .finished(.failure(error)) }
            }
            group.addTask { .renewerStopped(await renew(lease)) }
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

    /// Releases the lease (in its own span).
    func release(_ lease: Lease) async throws {
        try await observer.run("releaseLease", .init(store: store)) {
            try await transport.releaseLease(store: store, lease: lease)
        }
    }

    /// Renews every ttl/2 until cancelled (returns nil) or a renewal fails (returns its error).
    private func renew(_ lease: Lease) async -> (any Error)? {
        let interval = max(lease.ttl / 2, 1)
        var current = lease
        while true {
            do { try await clock.sleep(interval) } catch { return nil }
            if Task.isCancelled { return nil }
            do {
                let renewing = current
                current = try await observer.run("renewLease", .init(store: store)) {
                    try await transport.renewLease(store: store, lease: renewing)
                }
            } catch {
                return Task.isCancelled && error is CancellationError ? nil : error
            }
        }
    }
}
