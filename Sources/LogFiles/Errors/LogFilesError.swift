/// An error from the LogFiles layer: what went wrong, where, and whether trying again can help.
///
/// The code is an extensible struct so that new codes do not break `switch` statements; compare with `==`
/// against the static members (`error.code == .storeLocked`).
public struct LogFilesError: Error, Hashable, Sendable, CustomStringConvertible {
    /// What kind of failure this is.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        private enum Base: String, Hashable, Sendable {
            case storeLocked, notAStore, io, corrupt, unsupportedVersion, invalidArgument, transactionTooLarge,
                closed, writerFailed
        }
        private let base: Base
        private init(_ base: Base) { self.base = base }

        /// Another writer (this or another process) holds the store's lock.
        public static let storeLocked = Code(.storeLocked)
        /// The directory is not a StreamKit store (or a required file is missing).
        public static let notAStore = Code(.notAStore)
        /// A system call failed (`errno` says which error: ENOSPC, EIO …).
        public static let io = Code(.io)
        /// Bytes on disk fail a checksum, a magic number, or framing; `path` and `offset` say where.
        public static let corrupt = Code(.corrupt)
        /// A file was written by a newer format version than this build reads.
        public static let unsupportedVersion = Code(.unsupportedVersion)
        /// An argument is out of range (a name too long, too many metadata pairs …).
        public static let invalidArgument = Code(.invalidArgument)
        /// A transaction's encoded size exceeds the configured limit.
        public static let transactionTooLarge = Code(.transactionTooLarge)
        /// The writer was closed.
        public static let closed = Code(.closed)
        /// An earlier I/O failure stopped the writer; reopen the store to recover.
        public static let writerFailed = Code(.writerFailed)

        public var description: String { base.rawValue }
    }

    /// The kind of failure.
    public var code: Code
    /// A human-readable explanation.
    public var message: String
    /// The file concerned, when there is one.
    public var path: String?
    /// The byte offset in `path` concerned, when there is one.
    public var offset: Int64?
    /// The system error number for `.io` failures.
    public var errno: Int32?
    /// For `.transactionTooLarge` and `.invalidArgument`: the limit that was broken.
    public var limit: Int?

    public init(
        code: Code, message: String, path: String? = nil, offset: Int64? = nil, errno: Int32? = nil,
        limit: Int? = nil
    ) {
        self.code = code
        self.message = message
        self.path = path
        self.offset = offset
        self.errno = errno
        self.limit = limit
    }

    /// Whether retrying the same call later can succeed without reopening (a lock held by another writer can
    /// be released; a full disk can be freed only through a reopen, so `.io` is not retryable here).
    public var isRetryable: Bool { code == .storeLocked }

    /// An `.io` error for a file that does not exist (any more): one a live writer removed, say.
    var isMissingFile: Bool { code == .io && errno == 2 }

    public var description: String {
        var text = "\(code): \(message)"
        if let path { text += " [\(path)" + (offset.map { " @\($0)" } ?? "") + "]" }
        if let errno { text += " (errno \(errno))" }
        return text
    }
}

// MARK: - Factories

extension LogFilesError {
    static func storeLocked(_ path: String) -> Self {
        .init(code: .storeLocked, message: "the store is locked by another writer", path: path)
    }

    static func notAStore(_ path: String, _ why: String) -> Self {
        .init(code: .notAStore, message: why, path: path)
    }

    static func io(_ operation: String, path: String?, errno: Int32) -> Self {
        .init(code: .io, message: "\(operation) failed: \(errnoDescription(errno))", path: path, errno: errno)
    }

    static func corrupt(_ reason: String, path: String, offset: Int64) -> Self {
        .init(code: .corrupt, message: reason, path: path, offset: offset)
    }

    static func invalidArgument(_ reason: String, limit: Int? = nil) -> Self {
        .init(code: .invalidArgument, message: reason, limit: limit)
    }

    static let closed = Self(code: .closed, message: "the log writer is closed")
}

func errnoDescription(_ code: Int32) -> String {
    switch code {
    case 28: "no space left on device (ENOSPC)"
    case 5: "input/output error (EIO)"
    case 13: "permission denied (EACCES)"
    case 2: "no such file or directory (ENOENT)"
    case 11: "resource temporarily unavailable (EAGAIN)"
    case 17: "file exists (EEXIST)"
    case 20: "not a directory (ENOTDIR)"
    case 30: "read-only file system (EROFS)"
    case 24: "too many open files (EMFILE)"
    default: "errno \(code)"
    }
}
