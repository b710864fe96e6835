/// One element of a processing pipeline: a value or an ``ItemFailure``, plus per-item ``Metadata``.
///
/// Every operator of this module consumes and produces `StreamItem`s from a sequence that never throws
/// (`Failure == Never`). A failure is an ordinary element: it flows through every later stage without
/// ending the sequence, carrying the item that failed, so it can be retried, routed to a dead-letter
/// output or counted. Lift any `AsyncSequence` into items with `items()`.
///
/// ```swift
/// let item = StreamItem(42, metadata: ["source": "orders"])
/// let doubled = item.mapValue(stage: "double") { $0 * 2 }   // 84, same metadata
/// ```
public struct StreamItem<Value: Sendable>: Sendable {
    /// What an item holds: a value or a failure.
    public enum Outcome: Sendable {
        /// A value produced by the previous stage.
        case success(Value)
        /// A failure produced by this or an earlier stage.
        case failure(ItemFailure)
    }

    /// The value or the failure.
    public var outcome: Outcome

    /// Metadata that follows the item through every stage.
    public var metadata: Metadata

    /// Creates a successful item.
    /// - Parameters:
    ///   - value: The value.
    ///   - metadata: The item's metadata; empty by default.
    @inlinable
    public init(_ value: Value, metadata: Metadata = Metadata()) {
        outcome = .success(value)
        self.metadata = metadata
    }

    /// Creates a failed item.
    /// - Parameters:
    ///   - failure: The failure, with the item that failed.
    ///   - metadata: The item's metadata; empty by default.
    @inlinable
    public init(failure: ItemFailure, metadata: Metadata = Metadata()) {
        outcome = .failure(failure)
        self.metadata = metadata
    }

    /// The value, or `nil` for a failure.
    @inlinable
    public var value: Value? {
        if case .success(let value) = outcome { return value }
        return nil
    }

    /// The failure, or `nil` for a value.
    @inlinable
    public var failure: ItemFailure? {
        if case .failure(let failure) = outcome { return failure }
        return nil
    }

    /// Whether the item holds a value.
    @inlinable
    public var isSuccess: Bool {
        if case .success = outcome { return true }
        return false
    }

    /// The value.
    /// - Returns: The value of a successful item.
    /// - Throws: The item's ``ItemFailure`` when it holds a failure.
    @inlinable
    public func get() throws(ItemFailure) -> Value {
        switch outcome {
        case .success(let value): return value
        case .failure(let failure): throw failure
        }
    }

    /// Transforms the value, keeping the metadata; a thrown error becomes a failure that carries the
    /// original value. A failure is returned unchanged (same error, item and stage).
    /// - Parameters:
    ///   - stage: The name recorded in a failure raised by `transform`.
    ///   - transform: The transformation of the value.
    /// - Returns: The transformed item.
    @inlinable
    public func mapValue<T: Sendable>(stage: String, _ transform: (Value) throws -> T) -> StreamItem<T> {
        switch outcome {
        case .success(let value):
            do {
                return StreamItem<T>(try transform(value), metadata: metadata)
            } catch {
                return StreamItem<T>(failure: ItemFailure(error, item: value, stage: stage), metadata: metadata)
            }
        case .failure(let failure):
            return StreamItem<T>(failure: failure, metadata: metadata)
        }
    }
}

// MARK: - CustomStringConvertible

extension StreamItem: CustomStringConvertible {
    /// `success(value)` or `failure(description)`, followed by the metadata when there is any.
    public var description: String {
        let body: String
        switch outcome {
        case .success(let value): body = "success(\(value))"
        case .failure(let failure): body = "failure(\(failure))"
        }
        return metadata.isEmpty ? body : "\(body) \(metadata)"
    }
}
