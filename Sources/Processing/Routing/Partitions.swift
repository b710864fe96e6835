extension AsyncSequence {
    /// Splits the items across `count` outputs chosen by `strategy`; failures go to partition 0.
    ///
    /// Each value goes to exactly one partition. A failure has no value to key on, so it goes to
    /// partition 0; so does a value a custom strategy sends out of range (counted in
    /// ``Partitions/misrouted``). Each output has `buffer` as its policy: with `.block` a slow
    /// partition holds up the others; with a drop policy it loses items (counted in
    /// ``Partitions/dropped``). See ``HubOutput`` for the life cycle.
    /// - Parameters:
    ///   - count: The number of partitions (at least 1).
    ///   - strategy: How a value's partition is chosen.
    ///   - buffer: The buffer policy of every partition; `.block(capacity: 64)` by default.
    /// - Returns: The partitions and their counters.
    @inlinable
    public func partition<Value: Sendable>(
        into count: Int,
        by strategy: PartitionStrategy<Value>,
        buffer: BufferPolicy = .block(capacity: 64)
    ) -> Partitions<Value> where Self: Sendable, Element == StreamItem<Value>, Failure == Never {
        let count = Swift.max(1, count)
        let route = strategy.makeRoute()
        let misrouted = ItemCounter()
        let hub = Hub<Value>(base: self, policies: Array(repeating: buffer, count: count)) { item in
            guard case .success(let value) = item.outcome else { return 0 }
            let index = route(value, count)
            guard (0..<count).contains(index) else {
                misrouted.increment()
                return 0
            }
            return index
        }
        return Partitions(outputs: hub.makeOutputs(), dropped: hub.dropped, misrouted: misrouted)
    }
}

/// The outputs of `partition(into:by:buffer:)`.
public struct Partitions<Value: Sendable>: Sendable {
    /// One sequence per partition, by index.
    public let outputs: [HubOutput<Value>]
    /// Items each partition dropped (by its drop policy, or after its consumer ended).
    public let dropped: [ItemCounter]
    /// Values a custom strategy sent out of range (they went to partition 0).
    public let misrouted: ItemCounter

    @inlinable
    init(outputs: [HubOutput<Value>], dropped: [ItemCounter], misrouted: ItemCounter) {
        self.outputs = outputs
        self.dropped = dropped
        self.misrouted = misrouted
    }
}
