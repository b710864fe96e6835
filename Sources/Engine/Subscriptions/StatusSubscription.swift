#if canImport(FoundationEssentials)
public import FoundationEssentials
#else
public import Foundation
#endif

/// Live segment statuses of one segment or a whole space: first a snapshot (the segment's status, or every
/// segment of the space sorted by name), then a status after each commit, optionally heartbeats.
///
/// A slow subscriber never makes the store buffer without bound: undelivered statuses coalesce to the
/// latest per segment (see ``coalescedCount``). The subscription ends when ``cancel()`` is called, when the
/// iterating task is cancelled, or when the store closes — except a subscription made through
/// ``StoreRegistry/subscribe(_:space:segment:heartbeatSeconds:)``, which outlives its store closing and ends
/// only at the registry's shutdown.
public struct StatusSubscription: AsyncSequence, Sendable {
    public typealias Element = SegmentStatus

    let state: SubscriptionState
    let heartbeat: Task<Void, Never>?
    /// Forgets `state` wherever it is registered (the store, or the registry).
    let unregister: @Sendable (SubscriptionState) async -> Void

    /// The subscription's identity.
    public var id: UUID { state.id }

    /// Statuses replaced by a newer one of the same segment before delivery.
    public var coalescedCount: Int { state.counters.coalesced }

    /// Statuses delivered so far.
    public var deliveredCount: Int { state.counters.delivered }

    /// Ends the subscription; iteration finishes after this.
    public func cancel() {
        heartbeat?.cancel()
        state.finish()
        let unregister = self.unregister
        let state = self.state
        Task { await unregister(state) }
    }

    public func makeAsyncIterator() -> Iterator { Iterator(state: state) }

    /// Iterates statuses.
    public struct Iterator: AsyncIteratorProtocol {
        let state: SubscriptionState

        /// The next status; nil when the subscription has ended.
        public mutating func next() async -> SegmentStatus? { await state.next() }
    }

    /// Checks a subscription's arguments.
    /// - Throws: `StreamKitError.invalidArgument` for an empty name or a heartbeat outside 1–300 s.
    static func validate(space: String, segment: String, heartbeatSeconds: Int?) throws {
        if space.isEmpty || segment.isEmpty {
            throw StreamKitError.invalidArgument("space and segment must not be empty")
        }
        if let heartbeatSeconds, !(1...300).contains(heartbeatSeconds) {
            throw StreamKitError.invalidArgument(
                "heartbeat must be 1–300 s, got \(heartbeatSeconds)", limit: 300, value: heartbeatSeconds)
        }
    }

    /// The task that queues a heartbeat status into `state` after every `seconds` without a delivery, or nil.
    static func heartbeat(for state: SubscriptionState, seconds: Int?, clock: EngineClock) -> Task<Void, Never>? {
        guard let seconds else { return nil }
        let interval = UInt64(seconds) * 1_000_000_000
        let (space, segment) = (state.space, state.segment)
        return Task { [weak state] in
            var lastDelivered = -1
            while !Task.isCancelled {
                do { try await clock.sleep(interval) } catch { return }
                guard let state, !state.isFinished else { return }
                let delivered = state.deliveredCount()
                if delivered == lastDelivered {
                    state.pushHeartbeat(
                        SegmentStatus(
                            space: space, segment: segment, firstSequence: 0, firstTimestamp: 0, lastSequence: 0,
                            lastTimestamp: 0, isHeartbeat: true))
                }
                lastDelivered = state.deliveredCount()
            }
        }
    }
}

extension Store {
    /// Subscribes to the statuses of one segment, or of every segment of a space with `segment: "*"`.
    /// - Parameters:
    ///   - space: The space.
    ///   - segment: A segment name, or `"*"` for all.
    ///   - heartbeatSeconds: When set (1–300), a heartbeat status (`isHeartbeat`) arrives after every
    ///     interval without an update.
    /// - Throws: `StreamKitError.invalidArgument` for an empty name or a heartbeat outside 1–300 s;
    ///   `.storeClosing` after close.
    public func subscribe(
        space: String, segment: String = "*", heartbeatSeconds: Int? = nil
    ) throws -> StatusSubscription {
        try StatusSubscription.validate(space: space, segment: segment, heartbeatSeconds: heartbeatSeconds)
        guard !isClosing else { throw StreamKitError.storeClosing }
        let state = SubscriptionState(space: space, segment: segment, metricsFactory: configuration.metricsFactory)
        register(state)
        return StatusSubscription(
            state: state,
            heartbeat: StatusSubscription.heartbeat(for: state, seconds: heartbeatSeconds, clock: configuration.clock),
            unregister: { [self] state in await unregister(state) })
    }
}
