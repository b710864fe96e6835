extension AsyncSequence {
    /// Routes each value to the output of its key; values with any other key, and failures, go to the
    /// default output. Nothing is lost silently and nothing recurses.
    ///
    /// The routes are fixed when the router is created. A value whose key has no route is counted in
    /// ``Routes/unmatched`` and delivered on ``Routes/defaultOutput``, which always exists (it is a
    /// separate output, not a key looked up again). Duplicate keys in `keys` count once. Each output has
    /// `buffer` as its policy; see ``HubOutput`` for the life cycle.
    /// - Parameters:
    ///   - key: The routing key of a value.
    ///   - keys: The keys that get an output of their own.
    ///   - buffer: The buffer policy of every output; `.block(capacity: 64)` by default.
    /// - Returns: The outputs by key, the default output and the counters.
    @inlinable
    public func route<Value: Sendable, Key: Hashable & Sendable>(
        by key: @escaping @Sendable (Value) -> Key,
        to keys: [Key],
        buffer: BufferPolicy = .block(capacity: 64)
    ) -> Routes<Key, Value> where Self: Sendable, Element == StreamItem<Value>, Failure == Never {
        var indexes: [Key: Int] = [:]
        for candidate in keys where indexes[candidate] == nil {
            indexes[candidate] = indexes.count + 1
        }
        let table = indexes
        let unmatched = ItemCounter()
        let hub = Hub<Value>(base: self, policies: Array(repeating: buffer, count: table.count + 1)) { item in
            guard case .success(let value) = item.outcome else { return 0 }
            if let index = table[key(value)] { return index }
            unmatched.increment()
            return 0
        }
        let outputs = hub.makeOutputs()
        return Routes(
            outputs: table.mapValues { outputs[$0] },
            defaultOutput: outputs[0],
            unmatched: unmatched,
            dropped: table.mapValues { hub.dropped[$0] },
            defaultDropped: hub.dropped[0]
        )
    }
}

/// The outputs of `route(by:to:buffer:)`.
public struct Routes<Key: Hashable & Sendable, Value: Sendable>: Sendable {
    @usableFromInline let outputs: [Key: HubOutput<Value>]
    /// Values whose key has no route, and every failure.
    public let defaultOutput: HubOutput<Value>
    /// Values that had no route and went to the default output.
    public let unmatched: ItemCounter
    @usableFromInline let dropped: [Key: ItemCounter]
    /// Items the default output dropped (by its drop policy, or after its consumer ended).
    public let defaultDropped: ItemCounter

    @inlinable
    init(
        outputs: [Key: HubOutput<Value>],
        defaultOutput: HubOutput<Value>,
        unmatched: ItemCounter,
        dropped: [Key: ItemCounter],
        defaultDropped: ItemCounter
    ) {
        self.outputs = outputs
        self.defaultOutput = defaultOutput
        self.unmatched = unmatched
        self.dropped = dropped
        self.defaultDropped = defaultDropped
    }

    /// The keys that have an output of their own.
    @inlinable
    public var keys: [Key] { Array(outputs.keys) }

    /// The output of `key`.
    /// - Parameter key: A key given when the router was created.
    /// - Returns: The output, or `nil` when `key` has no route.
    @inlinable
    public func output(for key: Key) -> HubOutput<Value>? {
        outputs[key]
    }

    /// Items the output of `key` dropped (by its drop policy, or after its consumer ended).
    /// - Parameter key: A key given when the router was created.
    /// - Returns: The counter, or `nil` when `key` has no route.
    @inlinable
    public func dropped(for key: Key) -> ItemCounter? {
        dropped[key]
    }
}
