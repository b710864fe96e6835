/// Why an item failed, together with the item that failed.
///
/// A failure travels through the pipeline as a ``StreamItem`` instead of ending the sequence. It keeps
/// the original input of the stage that failed (`item`, type-erased because the stage's output type
/// may differ from its input type), the stage's name and how many attempts were made. Stages after the
/// failing one forward the failure unchanged: the error is never rewrapped or nested, and the original
/// item is never replaced by a zero value.
public struct ItemFailure: Error, Sendable {
    @usableFromInline
    final class Storage: Sendable {
        let error: any Error
        let item: (any Sendable)?
        let stage: String
        let attempts: Int

        @usableFromInline
        init(error: any Error, item: (any Sendable)?, stage: String, attempts: Int) {
            self.error = error
            self.item = item
            self.stage = stage
            self.attempts = attempts
        }
    }

    @usableFromInline
    let storage: Storage

    /// Creates a failure.
    ///
    /// When `error` is itself an `ItemFailure` (for example a stage rethrew ``StreamItem/get()``), that
    /// failure is kept as it is instead of being nested.
    /// - Parameters:
    ///   - error: The underlying error.
    ///   - item: The input the stage was processing, if any.
    ///   - stage: The name of the stage that failed.
    ///   - attempts: How many times the stage tried the item (at least 1).
    @inlinable
    public init(_ error: any Error, item: (any Sendable)? = nil, stage: String, attempts: Int = 1) {
        if let nested = error as? ItemFailure {
            storage = nested.storage
        } else {
            storage = Storage(error: error, item: item, stage: stage, attempts: Swift.max(1, attempts))
        }
    }

    private init(storage: Storage) {
        self.storage = storage
    }

    /// The underlying error.
    public var error: any Error { storage.error }

    /// The input the failing stage was processing, type-erased; `nil` when there was none (a source
    /// that threw, for instance). Use ``item(as:)`` to get it back typed.
    public var item: (any Sendable)? { storage.item }

    /// The name of the stage that failed.
    public var stage: String { storage.stage }

    /// How many times the stage tried the item (1 when it was not retried).
    public var attempts: Int { storage.attempts }

    /// The failed input as `type`.
    /// - Parameter type: The type the failing stage received.
    /// - Returns: The item, or `nil` when there is none or it has another type.
    public func item<T>(as type: T.Type) -> T? {
        storage.item as? T
    }

    /// A copy with a new attempt count and, when given, a new underlying error.
    /// - Parameters:
    ///   - attempts: The total number of attempts made.
    ///   - error: The error of the last attempt; `nil` keeps the current one.
    /// - Returns: The updated failure, same item and stage.
    public func retried(attempts: Int, error: (any Error)? = nil) -> ItemFailure {
        ItemFailure(
            storage: Storage(
                error: error ?? storage.error,
                item: storage.item,
                stage: storage.stage,
                attempts: Swift.max(1, attempts)
            )
        )
    }
}

// MARK: - CustomStringConvertible

extension ItemFailure: CustomStringConvertible {
    /// The stage, attempt count and error, e.g. `decode failed after 1 attempt: …`.
    public var description: String {
        "\(stage) failed after \(attempts) attempt\(attempts == 1 ? "" : "s"): \(error)"
    }
}
