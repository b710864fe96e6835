/// A state folded from its events: the write model of event sourcing.
///
/// An aggregate starts empty (``init()``) and changes only by applying its events, in the order they were saved.
/// ``apply(_:)`` must be deterministic and must not fail: events are facts already recorded, so an aggregate
/// loaded twice from the same events is the same. Decide what happens (validate a command, produce events) in your
/// own methods; change state only in ``apply(_:)``.
///
/// ```swift
/// struct Account: Aggregate, Codable {
///     enum Event: Codable, Sendable { case deposited(Int), withdrawn(Int) }
///     var balance = 0
///
///     mutating func apply(_ event: Event) {
///         switch event {
///         case .deposited(let amount): balance += amount
///         case .withdrawn(let amount): balance -= amount
///         }
///     }
/// }
/// ```
///
/// Conform to `Codable` as well (or give a ``SnapshotCodec``) to have ``AggregateRepository`` keep snapshots.
public protocol Aggregate: Sendable {
    /// What happened to the aggregate.
    associatedtype Event: Sendable

    /// The aggregate before its first event.
    init()

    /// Changes the state by one event.
    ///
    /// - Parameter event: The next event, in the order saved.
    mutating func apply(_ event: Event)
}
