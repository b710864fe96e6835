/// An error of ``AggregateRepository``: a code to switch on, the aggregate concerned, and what the caller needs to
/// act on it.
///
/// The code is an extensible struct, so new codes do not break `switch` statements; compare with `==`
/// (`error.code == .versionConflict`). Failures of the store itself (it is closing, unreachable, a name is too
/// long …) are the client's `StreamKitError`s, passed through unchanged.
///
/// ```swift
/// do {
///     try await accounts.save(id, events: [.withdrawn(30)], expectedVersion: version)
/// } catch let error as EventSourcingError where error.code == .versionConflict {
///     // Someone saved first: load again (now at error.currentVersion), decide again, save again.
/// }
/// ```
public struct EventSourcingError: Error, Hashable, Sendable, CustomStringConvertible {
    /// What kind of failure this is.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        private enum Base: String, Hashable, Sendable {
            case versionConflict, invalidArgument, saveTooLarge, encodingFailed, decodingFailed
        }
        private let base: Base
        private init(_ base: Base) { self.base = base }

        /// The aggregate is not at the expected version: another save came first. Nothing was written.
        /// ``EventSourcingError/currentVersion`` is the aggregate's version now; retrying the same save cannot
        /// succeed, loading again and deciding again can.
        public static let versionConflict = Code(.versionConflict)
        /// An argument is invalid: an empty aggregate id (or `"*"`), no events, a version that would overflow.
        public static let invalidArgument = Code(.invalidArgument)
        /// The save holds more than one transaction can (``SaveLimits``); nothing was written.
        /// ``EventSourcingError/limit`` and ``EventSourcingError/value`` say which limit and by how much.
        public static let saveTooLarge = Code(.saveTooLarge)
        /// The codec could not encode an event; nothing was written. The message says which and why.
        public static let encodingFailed = Code(.encodingFailed)
        /// The codec could not decode a stored event, so the aggregate cannot be folded.
        /// ``EventSourcingError/sequence`` is the event's sequence.
        public static let decodingFailed = Code(.decodingFailed)

        public var description: String { base.rawValue }
    }

    /// The kind of failure.
    public var code: Code
    /// A human-readable explanation.
    public var message: String
    /// The aggregate concerned.
    public var aggregateID: String
    /// For `versionConflict`: the version the save expected.
    public var expectedVersion: UInt64?
    /// For `versionConflict`: the aggregate's version when the save was refused (the sequence of its last event).
    public var currentVersion: UInt64?
    /// For `decodingFailed`: the sequence of the event that did not decode.
    public var sequence: UInt64?
    /// For `saveTooLarge`: the limit that was exceeded.
    public var limit: Int?
    /// For `saveTooLarge`: the save's value for that limit.
    public var value: Int?

    /// Creates an error.
    ///
    /// - Parameters:
    ///   - code: The kind of failure.
    ///   - message: A human-readable explanation.
    ///   - aggregateID: The aggregate concerned.
    public init(code: Code, message: String, aggregateID: String) {
        self.code = code
        self.message = message
        self.aggregateID = aggregateID
    }

    public var description: String { "\(code): \(message) [aggregate \(aggregateID)]" }
}

// MARK: - Factories

extension EventSourcingError {
    static func versionConflict(_ id: String, expected: UInt64, current: UInt64) -> Self {
        var error = Self(
            code: .versionConflict,
            message: "aggregate \(id) is at version \(current), the save expected \(expected)", aggregateID: id)
        error.expectedVersion = expected
        error.currentVersion = current
        return error
    }

    static func invalidArgument(_ id: String, _ message: String) -> Self {
        Self(code: .invalidArgument, message: message, aggregateID: id)
    }

    static func saveTooLarge(_ id: String, _ what: String, limit: Int, value: Int) -> Self {
        var error = Self(
            code: .saveTooLarge,
            message: "a save of \(value) \(what) does not fit in one transaction (at most \(limit))", aggregateID: id)
        error.limit = limit
        error.value = value
        return error
    }

    static func encodingFailed(_ id: String, index: Int, _ cause: any Error) -> Self {
        Self(code: .encodingFailed, message: "event \(index) of the save did not encode: \(cause)", aggregateID: id)
    }

    static func decodingFailed(_ id: String, sequence: UInt64, _ cause: any Error) -> Self {
        var error = Self(
            code: .decodingFailed, message: "the event at sequence \(sequence) did not decode: \(cause)",
            aggregateID: id)
        error.sequence = sequence
        return error
    }
}
