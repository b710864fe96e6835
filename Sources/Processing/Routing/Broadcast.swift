extension AsyncSequence {
    /// Sends every item to every output (fan-out), each output with its own buffer policy.
    ///
    /// With `.block` outputs a slow consumer holds up the input and so the others (asked for: nothing
    /// is lost); with `.dropNewest` or `.dropOldest` a slow consumer loses items (counted in
    /// ``Broadcast/dropped``) and the others go on at their own pace. Every output receives every item
    /// from the start, even one whose consumer starts late, within its buffer. See ``HubOutput`` for
    /// the life cycle.
    /// - Parameter policies: One buffer policy per output.
    /// - Returns: The outputs and their drop counters.
    @inlinable
    public func broadcast<Value: Sendable>(
        _ policies: [BufferPolicy]
    ) -> Broadcast<Value> where Self: Sendable, Element == StreamItem<Value>, Failure == Never {
        let hub = Hub<Value>(base: self, policies: policies) { _ in Hub<Value>.everyOutput }
        return Broadcast(outputs: hub.makeOutputs(), dropped: hub.dropped)
    }

    /// Sends every item to each of `consumers` outputs that share one buffer policy.
    /// - Parameters:
    ///   - consumers: The number of outputs.
    ///   - policy: The buffer policy of every output; `.block(capacity: 64)` by default.
    /// - Returns: The outputs and their drop counters.
    @inlinable
    public func broadcast<Value: Sendable>(
        consumers: Int,
        policy: BufferPolicy = .block(capacity: 64)
    ) -> Broadcast<Value> where Self: Sendable, Element == StreamItem<Value>, Failure == Never {
        broadcast(Array(repeating: policy, count: Swift.max(0, consumers)))
    }
}

/// The outputs of `broadcast`: every item goes to every output.
public struct Broadcast<Value: Sendable>: Sendable {
    /// One sequence per consumer, in the order of the policies.
    public let outputs: [HubOutput<Value>]
    /// Items each output dropped (by its drop policy, or after its consumer ended).
    public let dropped: [ItemCounter]

    @inlinable
    init(outputs: [HubOutput<Value>], dropped: [ItemCounter]) {
        self.outputs = outputs
        self.dropped = dropped
    }
}
