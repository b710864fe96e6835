import Synchronization

/// A thread-safe counter that operators increment when they drop, reject or reroute an item.
///
/// Pass one to an operator (`buffer`, `throttle`, `dedupe`) or read the ones a router exposes; read
/// ``value`` at any time from any task. Nothing an operator drops goes uncounted.
public final class ItemCounter: Sendable {
    private let count = Atomic<Int>(0)

    /// Creates a counter at zero.
    public init() {}

    /// The current count.
    public var value: Int { count.load(ordering: .relaxed) }

    /// Adds `amount` to the count.
    /// - Parameter amount: How much to add; 1 by default.
    public func increment(by amount: Int = 1) {
        count.add(amount, ordering: .relaxed)
    }

    /// Returns the count and sets it to zero in one step.
    /// - Returns: The count before the reset.
    @discardableResult
    public func reset() -> Int {
        count.exchange(0, ordering: .relaxed)
    }
}
