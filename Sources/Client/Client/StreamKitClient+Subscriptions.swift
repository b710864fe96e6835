#if canImport(FoundationEssentials)
public import FoundationEssentials
#else
public import Foundation
#endif
import Logging
public import StreamKitEngine

// MARK: - Subscriptions

extension StreamKitClient {
    /// Calls `handler` with the statuses of one segment, or of every segment of a space with `segment: "*"`:
    /// first a snapshot (the current status, or every segment's sorted by name), then one per commit.
    ///
    /// Handler calls of one subscription never overlap, so it sees each segment's statuses in order; they run on
    /// the client's bounded pool (``ClientConfiguration/maxConcurrentHandlers``) with a timeout
    /// (``ClientConfiguration/handlerTimeout``). While the handler or the pool is busy, newer statuses of a
    /// segment replace older undelivered ones (counted in ``SubscriptionStatus/coalescedUpdates``): the
    /// handler always gets the latest. A handler that throws or times out is counted, and delivery goes on.
    ///
    /// When the store closes, the subscription becomes `failed`. Over the WebSocket transport a lost connection
    /// does not end it: it subscribes again once the transport has reconnected, and the handler gets a fresh
    /// snapshot, then live statuses.
    ///
    /// - Parameters:
    ///   - store: The store.
    ///   - space: The space.
    ///   - segment: A segment name, or `"*"` for every segment of the space (the default).
    ///   - handler: Called once per status; cancelled when it times out or the subscription ends.
    /// - Returns: The subscription's handle: ``Subscription/status()`` and ``Subscription/cancel()``.
    /// - Throws: `invalidArgument` for an empty name; `storeClosing` after close; the transport's open errors
    ///   after retries.
    public func subscribe(
        store: UUID, space: String, segment: String = "*",
        handler: @escaping @Sendable (SegmentStatus) async throws -> Void
    ) async throws -> Subscription {
        // Only opening is in the span: the dispatcher (and the handler) run in the caller's context.
        let feed = try await observer.run("subscribe", .init(store: store, space: space, segment: segment)) {
            try check(store: store, names: [("space", space), ("segment", segment)])
            return try await transport.subscribe(store: store, space: space, segment: segment)
        }
        let subscription = Subscription(id: UUID(), space: space, segment: segment)
        let metadata: Logger.Metadata = [
            "store_id": "\(store)", "space": "\(space)", "segment": "\(segment)",
            "subscription_id": "\(subscription.id)",
        ]
        let dispatcher = SubscriptionDispatcher(
            pool: pool, clock: configuration.clock,
            timeout: RetryPolicy.nanoseconds(configuration.handlerTimeout, fallback: 0), logger: logger,
            metadata: metadata, metrics: metrics)
        guard
            let task = background.start({
                await dispatcher.run(feed: feed, subscription: subscription, handler: handler)
            })
        else {
            feed.cancel()
            throw StreamKitError.clientClosed(storeID: store)
        }
        subscription.attach(task)
        logger.debug("subscribed", metadata: metadata)
        return subscription
    }
}

/// Feeds one subscription's statuses to its handler, one call at a time, through the client's pool.
struct SubscriptionDispatcher: Sendable {
    let pool: HandlerPool
    let clock: EngineClock
    /// Nanoseconds; 0 runs the handler inline.
    let timeout: UInt64
    let logger: Logger
    let metadata: Logger.Metadata
    let metrics: ClientMetrics

    func run(
        feed: some StatusFeed, subscription: Subscription,
        handler: @escaping @Sendable (SegmentStatus) async throws -> Void
    ) async {
        var failure: (any Error)?
        var coalesced = 0
        do {
            for try await status in feed {
                let nowCoalesced = feed.coalescedCount
                if nowCoalesced != coalesced {
                    subscription.update { $0.coalescedUpdates = nowCoalesced }
                    metrics.count(.coalescedUpdates, by: nowCoalesced - coalesced)
                    coalesced = nowCoalesced
                }
                do { try await pool.acquire() } catch { break }
                let outcome = await HandlerRun.run(handler, status: status, timeout: timeout, clock: clock)
                pool.release()
                record(outcome, status: status, in: subscription)
            }
        } catch {
            failure = error
        }
        feed.cancel()
        metrics.count(.coalescedUpdates, by: feed.coalescedCount - coalesced)
        let cancelled = Task.isCancelled
        let ending = failure ?? StreamKitError(code: .storeClosing, message: "the status feed ended")
        subscription.update { status in
            status.coalescedUpdates = feed.coalescedCount
            guard status.state == .active else { return }
            if cancelled {
                status.state = .cancelled
            } else {
                status.state = .failed
                status.failureCount += 1
                status.lastError = "\(ending)"
            }
        }
        if !cancelled {
            var context = metadata
            context["error"] = "\(ending)"
            logger.error("subscription failed", metadata: context)
        }
    }

    private func record(_ outcome: HandlerOutcome, status: SegmentStatus, in subscription: Subscription) {
        subscription.update { record in
            record.deliveredCount += 1
            record.lastStatus = status
            switch outcome {
            case .completed:
                break
            case .failed(let error):
                record.handlerFailures += 1
                record.lastError = error
            case .timedOut:
                record.handlerTimeouts += 1
                record.lastError = "handler timed out after \(timeout / 1_000_000) ms"
            }
        }
        switch outcome {
        case .completed:
            break
        case .failed(let error):
            metrics.count(.handlerFailure)
            var context = metadata
            context["error"] = "\(error)"
            logger.warning("subscription handler failed", metadata: context)
        case .timedOut:
            metrics.count(.handlerTimeout)
            var context = metadata
            context["timeout_ms"] = "\(timeout / 1_000_000)"
            logger.warning("subscription handler timed out", metadata: context)
        }
    }
}
