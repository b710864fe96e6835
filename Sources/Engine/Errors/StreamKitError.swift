import StreamKitLogFiles

#if canImport(FoundationEssentials)
public import FoundationEssentials
#else
public import Foundation
#endif

/// An error from StreamKit: a code to switch on, what the caller needs to act on it, and whether retrying
/// can help.
///
/// The code is an extensible struct, so new codes do not break `switch` statements; compare with `==`
/// (`error.code == .sequenceConflict`). The same codes cross the wire, so a remote client rebuilds the same
/// error an embedded caller gets.
public struct StreamKitError: Error, Hashable, Sendable, CustomStringConvertible {
    /// What kind of failure this is.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        private enum Base: String, Hashable, Sendable {
            case sequenceConflict, invalidArgument, invalidOffset, notFound, storeClosing, storeUnavailable,
                limitExceeded, leaseNotHeld, storage, corrupt, unauthorized, forbidden, overloaded, internalError,
                unsupported
        }
        private let base: Base
        private init(_ base: Base) { self.base = base }

        /// The first sequence of a produce is not the segment's last + 1, or sequences are not contiguous.
        /// `expectedSequence` and `gotSequence` say which.
        public static let sequenceConflict = Code(.sequenceConflict)
        /// An argument is out of range: an empty or too long name, sequence 0, a payload over the limit …
        public static let invalidArgument = Code(.invalidArgument)
        /// An offset that this store did not issue, or that no longer matches its log.
        public static let invalidOffset = Code(.invalidOffset)
        /// The thing asked for does not exist (a lease that is not held, a worker not registered …).
        public static let notFound = Code(.notFound)
        /// The store is closing or closed.
        public static let storeClosing = Code(.storeClosing)
        /// The store cannot be opened right now (the registry's circuit breaker is open). Retryable.
        public static let storeUnavailable = Code(.storeUnavailable)
        /// A configured limit was broken; `limit` and `value` say which.
        public static let limitExceeded = Code(.limitExceeded)
        /// The caller does not hold the lease (expired, released, or taken by another holder).
        public static let leaseNotHeld = Code(.leaseNotHeld)
        /// The storage layer failed (I/O error, disk full); the store must be reopened.
        public static let storage = Code(.storage)
        /// Stored data failed a checksum or framing check.
        public static let corrupt = Code(.corrupt)
        /// No or invalid credentials.
        public static let unauthorized = Code(.unauthorized)
        /// Valid credentials without access to this store.
        public static let forbidden = Code(.forbidden)
        /// Too much load (queues full); retryable after a pause.
        public static let overloaded = Code(.overloaded)
        /// A bug: an invariant did not hold.
        public static let internalError = Code(.internalError)
        /// The store's storage (or the server) cannot do this: e.g. deleting entries of a store kept in a custom
        /// storage without deletion, or through a server that predates it.
        public static let unsupported = Code(.unsupported)

        public var description: String { base.rawValue }

        /// The wire name of the code.
        public var name: String { base.rawValue }

        /// Rebuilds a code from its wire name; unknown names become `internalError`.
        public init(name: String) { self.init(Base(rawValue: name) ?? .internalError) }
    }

    /// The kind of failure.
    public var code: Code
    /// A human-readable explanation.
    public var message: String
    /// The store concerned, when known.
    public var storeID: UUID?
    /// For `sequenceConflict`: the sequence the segment expects next.
    public var expectedSequence: UInt64?
    /// For `sequenceConflict`: the sequence that was offered.
    public var gotSequence: UInt64?
    /// For `limitExceeded` and some `invalidArgument`s: the limit that was broken.
    public var limit: Int?
    /// For `limitExceeded`: the offending value.
    public var value: Int?

    /// Creates an error.
    public init(
        code: Code, message: String, storeID: UUID? = nil, expectedSequence: UInt64? = nil, gotSequence: UInt64? = nil,
        limit: Int? = nil, value: Int? = nil
    ) {
        self.code = code
        self.message = message
        self.storeID = storeID
        self.expectedSequence = expectedSequence
        self.gotSequence = gotSequence
        self.limit = limit
        self.value = value
    }

    /// Whether retrying the same call later can succeed.
    public var isRetryable: Bool {
        code == .storeUnavailable || code == .overloaded || code == .storeClosing
    }

    public var description: String {
        var text = "\(code): \(message)"
        if let storeID { text += " [store \(storeID)]" }
        return text
    }
}

// MARK: - Factories

extension StreamKitError {
    /// A sequence conflict: the segment expects `expected`, the produce offered `got`.
    public static func sequenceConflict(expected: UInt64, got: UInt64, space: String, segment: String) -> Self {
        .init(
            code: .sequenceConflict,
            message: "sequence conflict in \(space)/\(segment): expected \(expected), got \(got)",
            expectedSequence: expected, gotSequence: got)
    }

    static func invalidArgument(_ message: String, limit: Int? = nil, value: Int? = nil) -> Self {
        .init(code: .invalidArgument, message: message, limit: limit, value: value)
    }

    static func limitExceeded(_ message: String, limit: Int, value: Int) -> Self {
        .init(code: .limitExceeded, message: message, limit: limit, value: value)
    }

    static let storeClosing = Self(code: .storeClosing, message: "the store is closing")

    /// A storage-layer error mapped to the engine's codes, naming store `storeID` unless it names one already.
    static func storage(_ error: any Error, storeID: UUID) -> Self {
        var mapped = storage(error)
        if mapped.storeID == nil { mapped.storeID = storeID }
        return mapped
    }

    /// Maps a storage-layer error to the engine's codes.
    static func storage(_ error: any Error) -> Self {
        if let error = error as? StreamKitError { return error }
        guard let error = error as? LogFilesError else {
            return .init(code: .internalError, message: "\(error)")
        }
        switch error.code {
        case .closed: return .storeClosing
        case .corrupt: return .init(code: .corrupt, message: error.description)
        case .invalidArgument: return .init(code: .invalidArgument, message: error.message, limit: error.limit)
        case .transactionTooLarge: return .init(code: .limitExceeded, message: error.message, limit: error.limit)
        default: return .init(code: .storage, message: error.description)
        }
    }
}
