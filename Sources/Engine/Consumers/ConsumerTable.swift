/// A store's durable consumers by name, and the rules of changing them, shared by every storage: a file or memory
/// storage keeps one table, a database applies a change to each row it locks (``apply(_:to:count:)``).
public struct ConsumerTable: Sendable, Hashable {
    /// The consumers by name.
    public private(set) var consumers: [String: Consumer]

    /// Most consumers per store.
    public static let maxConsumers = 1024

    /// A table holding `consumers`.
    public init(_ consumers: [Consumer] = []) {
        self.consumers = Dictionary(consumers.map { ($0.name, $0) }, uniquingKeysWith: { $1 })
    }

    /// The consumers, sorted by name.
    public var sorted: [Consumer] { consumers.values.sorted { $0.name < $1.name } }

    /// Applies `change`; returns the consumer after it (nil once deleted) or the error that refused it.
    public mutating func apply(_ change: ConsumerChange) -> Result<Consumer?, StreamKitError> {
        let outcome = Self.apply(change, to: consumers[change.name], count: consumers.count)
        if case .success(let consumer) = outcome { consumers[change.name] = consumer }
        return outcome
    }

    /// What `change` makes of `current` (the consumer it names, nil when there is none) in a store with `count`
    /// consumers: the consumer after it (nil: none), or why it is refused —
    /// - creating one that exists with another target: `invalidArgument`; past ``maxConsumers``: `limitExceeded`;
    /// - advancing one that does not exist: `notFound`; with a fencing token below the highest one seen:
    ///   `leaseNotHeld` (a newer reader took the consumer over).
    public static func apply(
        _ change: ConsumerChange, to current: Consumer?, count: Int
    ) -> Result<Consumer?, StreamKitError> {
        switch change {
        case .create(let consumer):
            if let current {
                guard current.target == consumer.target else {
                    return .failure(.consumerTargetMismatch(current, consumer.target))
                }
                return .success(current)
            }
            guard count < maxConsumers else {
                return .failure(
                    .limitExceeded(
                        "a store has at most \(maxConsumers) consumers", limit: maxConsumers, value: count + 1))
            }
            return .success(consumer)
        case .advance(let name, let position, let token, let time):
            guard var consumer = current else { return .failure(.consumerNotFound(name)) }
            guard token >= consumer.fencingToken else {
                return .failure(.consumerFenced(name, offered: token, current: consumer.fencingToken))
            }
            let before = consumer.position
            consumer.position.merge(position)
            consumer.fencingToken = token
            if consumer.position != before { consumer.updatedAt = max(consumer.updatedAt, time) }
            return .success(consumer)
        case .delete:
            return .success(nil)
        }
    }
}
