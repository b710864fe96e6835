extension AsyncSequence {
    /// Splits successes from failures: values go to ``DeadLetterSplit/successes``, failures (with their
    /// original item, stage, attempts and metadata) to ``DeadLetterSplit/deadLetters``.
    ///
    /// To retry failures before they become dead letters, put `retryFailures(_:clock:stage:_:)` in
    /// front. Both outputs block by default, so a slow dead-letter consumer slows the pipeline instead of
    /// losing failures (no timeout drops); choose a drop policy to trade that for counted losses. See
    /// ``HubOutput`` for the life cycle.
    /// - Parameters:
    ///   - successes: The buffer policy of the success output; `.block(capacity: 64)` by default.
    ///   - deadLetters: The buffer policy of the failure output; `.block(capacity: 64)` by default.
    /// - Returns: The two outputs and their drop counters.
    @inlinable
    public func splitDeadLetters<Value: Sendable>(
        successes: BufferPolicy = .block(capacity: 64),
        deadLetters: BufferPolicy = .block(capacity: 64)
    ) -> DeadLetterSplit<Value> where Self: Sendable, Element == StreamItem<Value>, Failure == Never {
        let hub = Hub<Value>(base: self, policies: [successes, deadLetters]) { $0.isSuccess ? 0 : 1 }
        let outputs = hub.makeOutputs()
        return DeadLetterSplit(
            successes: outputs[0],
            deadLetters: outputs[1],
            droppedSuccesses: hub.dropped[0],
            droppedDeadLetters: hub.dropped[1]
        )
    }
}

/// The outputs of `splitDeadLetters(successes:deadLetters:)`.
public struct DeadLetterSplit<Value: Sendable>: Sendable {
    /// The successful items.
    public let successes: HubOutput<Value>
    /// The failed items; each `item.failure` carries the original item, the stage and the attempts.
    public let deadLetters: HubOutput<Value>
    /// Successes dropped (by a drop policy, or after their consumer ended).
    public let droppedSuccesses: ItemCounter
    /// Failures dropped (by a drop policy, or after their consumer ended).
    public let droppedDeadLetters: ItemCounter

    @inlinable
    init(
        successes: HubOutput<Value>,
        deadLetters: HubOutput<Value>,
        droppedSuccesses: ItemCounter,
        droppedDeadLetters: ItemCounter
    ) {
        self.successes = successes
        self.deadLetters = deadLetters
        self.droppedSuccesses = droppedSuccesses
        self.droppedDeadLetters = droppedDeadLetters
    }
}
