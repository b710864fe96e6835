import Logging
public import StreamKitEngine
import Synchronization

#if canImport(FoundationEssentials)
public import FoundationEssentials
#else
public import Foundation
#endif

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
    /// snapshot, then live statuses. A failed subscription can be started again with ``Subscription/restart()``.
    ///
    /// **Liveness.** With `heartbeat`, the store (or server) sends a heartbeat when no status came for that long,
    /// so a quiet segment is told from a dead connection; heartbeats are counted
    /// (``SubscriptionStatus/heartbeatCount``), never handed to `handler`. With `silenceBound` (by default three
    /// heartbeat intervals when `heartbeat` is set), a subscription that waited that long without a status or
    /// heartbeat turns ``SubscriptionStatus/State-swift.enum/silent`` (logged, counted in
    /// ``SubscriptionStatus/silenceCount``) until one arrives. Time spent in the handler does not count.
    ///
    /// - Parameters:
    ///   - store: The store.
    ///   - space: The space.
    ///   - segment: A segment name, or `"*"` for every segment of the space (the default).
    ///   - heartbeat: Ask for a heartbeat after this long without a status (1–300 s, rounded up to whole seconds).
    ///   - silenceBound: Mark the subscription silent after this long without a status or heartbeat, on the
    ///     client's clock; nil: three heartbeat intervals, or never without `heartbeat`.
    ///   - handler: Called once per status; cancelled when it times out or the subscription ends.
    /// - Returns: The subscription's handle: ``Subscription/status()``, ``Subscription/cancel()`` and
    ///   ``Subscription/restart()``.
    /// - Throws: `invalidArgument` for an empty name, a heartbeat outside 1–300 s or a silence bound that is not
    ///   positive; `storeClosing` after close; the transport's open errors after retries.
    public func subscribe(
        store: UUID, space: String, segment: String = "*", heartbeat: Duration? = nil, silenceBound: Duration? = nil,
        handler: @escaping @Sendable (SegmentStatus) async throws -> Void
    ) async throws -> Subscription {
        let heartbeatSeconds = try heartbeat.map(Self.heartbeatSeconds)
        if let silenceBound, silenceBound <= .zero {
            throw StreamKitError.clientInvalidArgument("the silence bound must be positive, got \(silenceBound)")
        }
        let bound = (silenceBound ?? heartbeatSeconds.map { .seconds(3 * $0) }).map {
            RetryPolicy.nanoseconds($0, fallback: 0)
        }
        let subscription = Subscription(id: UUID(), space: space, segment: segment)
        let metadata: Logger.Metadata = [
            "store_id": "\(store)", "space": "\(space)", "segment": "\(segment)",
            "subscription_id": "\(subscription.id)",
        ]
        let start: @Sendable () async throws -> BackgroundTasks.Handle = { [self] in
            // Only opening is in the span: the dispatcher (and the handler) run in the caller's context.
            let feed = try await observer.run("subscribe", .init(store: store, space: space, segment: segment)) {
                try check(store: store, names: [("space", space), ("segment", segment)])
                return try await transport.subscribe(
                    store: store, space: space, segment: segment, heartbeatSeconds: heartbeatSeconds)
            }
            let dispatcher = SubscriptionDispatcher(
                pool: pool, clock: configuration.clock,
                timeout: RetryPolicy.nanoseconds(configuration.handlerTimeout, fallback: 0), silenceBound: bound,
                logger: logger, metadata: metadata, metrics: metrics)
            guard
                let task = background.start({
                    await dispatcher.run(feed: feed, subscription: subscription, handler: handler)
                })
            else {
                feed.cancel()
                throw StreamKitError.clientClosed(storeID: store)
            }
            return task
        }
        subscription.attach(try await start(), restart: start)
        logger.debug("subscribed", metadata: metadata)
        return subscription
    }

    /// Whole seconds of a heartbeat interval (rounded up), checked against 1–300 s.
    private static func heartbeatSeconds(_ interval: Duration) throws -> Int {
        let (seconds, attoseconds) = interval.components
        let whole = seconds + (attoseconds > 0 ? 1 : 0)
        guard (1...300).contains(whole) else {
            throw StreamKitError.clientInvalidArgument("a heartbeat is 1–300 s, got \(interval)")
        }
        return Int(whole)
    }
}

/// Feeds one subscription's statuses to its handler, one call at a time, through the client's pool.
struct SubscriptionDispatcher: Sendable {
    let pool: HandlerPool
    let clock: EngineClock
    /// Nanoseconds; 0 runs the handler inline.
    let timeout: UInt64
    /// Nanoseconds without a status or heartbeat after which the subscription is silent; nil: never.
    let silenceBound: UInt64?
    let logger: Logger
    let metadata: Logger.Metadata
    let metrics: ClientMetrics

    func run(
        feed: some StatusFeed, subscription: Subscription,
        handler: @escaping @Sendable (SegmentStatus) async throws -> Void
    ) async {
        var failure: (any Error)?
        var coalesced = 0
        // When the dispatcher began waiting for the feed (the client's clock); nil while a status is handled.
        let waitingSince = WaitingSince()
        await withTaskGroup(of: Void.self) { group in
            if let silenceBound {
                group.addTask { await watch(silenceBound, waitingSince: waitingSince, subscription: subscription) }
            }
            var statuses = feed.makeAsyncIterator()
            do {
                while true {
                    let now = clock.now()
                    waitingSince.value.withLock { $0 = now }
                    guard let status = try await statuses.next() else { break }
                    waitingSince.value.withLock { $0 = nil }
                    subscription.update { record in
                        if record.state == .silent { record.state = .active }
                        if status.isHeartbeat { record.heartbeatCount += 1 }
                    }
                    if status.isHeartbeat { continue }
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
            group.cancelAll()
        }
        feed.cancel()
        metrics.count(.coalescedUpdates, by: feed.coalescedCount - coalesced)
        let cancelled = Task.isCancelled
        let ending = failure ?? StreamKitError(code: .storeClosing, message: "the status feed ended")
        subscription.update { status in
            status.coalescedUpdates = feed.coalescedCount
            guard status.state == .active || status.state == .silent else { return }
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

    /// Marks the subscription silent whenever the dispatcher has waited `bound` nanoseconds for the feed.
    private func watch(_ bound: UInt64, waitingSince: WaitingSince, subscription: Subscription) async {
        while !Task.isCancelled {
            var pause = bound
            if let since = waitingSince.value.withLock({ $0 }) {
                let silent = clock.now() &- since
                if silent >= bound {
                    var marked = false
                    subscription.update { status in
                        guard status.state == .active else { return }
                        status.state = .silent
                        status.silenceCount += 1
                        status.lastError = "no status or heartbeat for \(silent / 1_000_000) ms"
                        marked = true
                    }
                    if marked {
                        var context = metadata
                        context["silent_ms"] = "\(silent / 1_000_000)"
                        logger.warning("subscription silent", metadata: context)
                    }
                } else {
                    pause = bound - silent
                }
            }
            do { try await clock.sleep(pause) } catch { return }
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

/// When a subscription's dispatcher began waiting for its feed, on the client's clock; nil while it handles a status.
final class WaitingSince: Sendable {
    let value = Mutex<UInt64?>(nil)
}
