/// How many items a buffer holds and what happens when it is full.
///
/// Used by `buffer(_:dropped:)` and by every output of `broadcast`, `partition`, `route` and
/// `splitDeadLetters`. A capacity below 1 counts as 1.
public struct BufferPolicy: Sendable, Hashable {
    /// What a full buffer does with a new item.
    public enum Overflow: Sendable, Hashable {
        /// The producer waits until there is room (backpressure); nothing is lost.
        case block
        /// The new item is dropped and counted.
        case dropNewest
        /// The oldest buffered item is dropped and counted, and the new one is kept.
        case dropOldest
    }

    /// The most items held.
    public var capacity: Int
    /// What a full buffer does.
    public var overflow: Overflow

    /// Creates a policy.
    /// - Parameters:
    ///   - capacity: The most items held; less than 1 counts as 1.
    ///   - overflow: What a full buffer does.
    @inlinable
    public init(capacity: Int, overflow: Overflow) {
        self.capacity = Swift.max(1, capacity)
        self.overflow = overflow
    }

    /// Holds up to `capacity` items; a full buffer makes the producer wait.
    /// - Parameter capacity: The most items held.
    /// - Returns: The policy.
    @inlinable
    public static func block(capacity: Int) -> BufferPolicy {
        BufferPolicy(capacity: capacity, overflow: .block)
    }

    /// Holds up to `capacity` items; a full buffer drops the new item.
    /// - Parameter capacity: The most items held.
    /// - Returns: The policy.
    @inlinable
    public static func dropNewest(capacity: Int) -> BufferPolicy {
        BufferPolicy(capacity: capacity, overflow: .dropNewest)
    }

    /// Holds up to `capacity` items; a full buffer drops its oldest item.
    /// - Parameter capacity: The most items held.
    /// - Returns: The policy.
    @inlinable
    public static func dropOldest(capacity: Int) -> BufferPolicy {
        BufferPolicy(capacity: capacity, overflow: .dropOldest)
    }
}
