/// A change to a store's durable consumers, as the store asks its storage to record it
/// (``StoreStorage/recordConsumers(_:)``). ``ConsumerTable`` holds the rules every storage applies.
public enum ConsumerChange: Sendable, Hashable {
    /// Creates a consumer; recording it again with the same target changes nothing (the existing one is the outcome).
    case create(Consumer)
    /// Moves a consumer's position forward to `position` (merged: never backward), carrying the reader's fencing
    /// token (0 without a lease), at `time` (nanoseconds since the Unix epoch).
    case advance(name: String, position: ConsumerPosition, fencingToken: UInt64, time: Int64)
    /// Deletes a consumer (nothing when there is none).
    case delete(name: String)

    /// The consumer the change is about.
    public var name: String {
        switch self {
        case .create(let consumer): consumer.name
        case .advance(let name, _, _, _), .delete(let name): name
        }
    }
}
