public import StreamKitEngine

#if canImport(FoundationEssentials)
public import FoundationEssentials
#else
public import Foundation
#endif

/// A snapshot of a subscription's health, from ``Subscription/status()``.
public struct SubscriptionStatus: Sendable, Hashable {
    /// Whether a subscription still delivers.
    public enum State: Sendable, Hashable {
        /// Statuses are being delivered to the handler.
        case active
        /// The status feed ended (the store closed; over WebSocket, a permanent error such as `unauthorized` while
        /// reconnecting); see `lastError`.
        case failed
        /// ``Subscription/cancel()`` or ``StreamKitClient/close()`` ended it.
        case cancelled
        /// Still running, but no status or heartbeat arrived within its silence bound while it waited: the
        /// connection, the server or the store may be stuck. It turns `active` again when one arrives.
        case silent
    }

    /// The subscription's id.
    public var id: UUID
    /// The space subscribed to.
    public var space: String
    /// The segment subscribed to, or `"*"` for every segment of the space.
    public var segment: String
    /// Whether it is active, failed or cancelled.
    public var state: State
    /// Failures of the status feed itself (not of the handler): 0 or 1. A lost WebSocket connection is not a
    /// failure: the feed subscribes again.
    public var failureCount: Int
    /// The latest error: of the feed, or a handler's thrown error or timeout, as text.
    public var lastError: String?
    /// Handler calls abandoned after the handler timeout.
    public var handlerTimeouts: Int
    /// Handler calls that threw.
    public var handlerFailures: Int
    /// Statuses replaced by a newer one of the same segment before the handler could take them (the handler or
    /// the pool was busy). Nothing is lost: the handler gets the newer status.
    public var coalescedUpdates: Int
    /// Handler calls made so far (completed, failed or timed out).
    public var deliveredCount: Int
    /// The status most recently handed to the handler.
    public var lastStatus: SegmentStatus?
    /// Heartbeats received (asked for with `heartbeat:`; never handed to the handler).
    public var heartbeatCount: Int
    /// Times the subscription turned ``State-swift.enum/silent``.
    public var silenceCount: Int
    /// Times ``Subscription/restart()`` started it again.
    public var restartCount: Int

    /// Creates a status (the client creates them; this is for tests and decoding).
    ///
    /// - Parameters:
    ///   - id: The subscription's id.
    ///   - space: The space.
    ///   - segment: The segment or `"*"`.
    ///   - state: Active, failed or cancelled.
    public init(id: UUID, space: String, segment: String, state: State = .active) {
        self.id = id
        self.space = space
        self.segment = segment
        self.state = state
        failureCount = 0
        lastError = nil
        handlerTimeouts = 0
        handlerFailures = 0
        coalescedUpdates = 0
        deliveredCount = 0
        lastStatus = nil
        heartbeatCount = 0
        silenceCount = 0
        restartCount = 0
    }
}
