public import StreamKitClient

/// Turns an aggregate's state into a snapshot's payload and back.
///
/// ``JSONSnapshotCodec`` is the default for `Codable` aggregates. A snapshot that no longer decodes (the
/// aggregate's type changed) costs only time: ``AggregateRepository/load(_:)`` ignores it and folds every event.
public protocol SnapshotCodec<State>: Sendable {
    /// The state this codec reads and writes.
    associatedtype State: Sendable

    /// Encodes a state.
    ///
    /// - Parameter state: The aggregate, folded up to the snapshot's version.
    /// - Returns: The snapshot's payload (at most the store's payload limit, 4 MiB by default).
    /// - Throws: Whatever the encoding throws; the snapshot is then not written (the save it follows still
    ///   succeeds).
    func encode(_ state: State) throws -> [UInt8]

    /// Decodes a state.
    ///
    /// - Parameter payload: A snapshot's payload.
    /// - Returns: The state.
    /// - Throws: Whatever the decoding throws; the snapshot is then ignored.
    func decode(_ payload: Payload) throws -> State
}
