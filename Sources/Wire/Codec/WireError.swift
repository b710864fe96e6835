/// A frame or message that cannot be decoded (or a message that cannot be encoded within the limits).
///
/// Decoding never traps: every problem with the input, whether truncated, oversized, garbage or hostile, ends
/// in one of these, with the byte offset where decoding stopped. The code is an extensible struct, so new
/// codes do not break `switch` statements; compare with `==` (`error.code == .truncated`).
public struct WireError: Error, Hashable, Sendable, CustomStringConvertible {
    /// What kind of problem this is.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        private enum Base: String, Hashable, Sendable {
            case truncated, malformed, tooLarge, unsupportedVersion, unknownKind, invalidUTF8, compression
        }
        private let base: Base
        private init(_ base: Base) { self.base = base }

        /// The input ends before the field being read (or a count promises more bytes than remain).
        public static let truncated = Code(.truncated)
        /// A field has a value the protocol does not allow: reserved flag bits set, a boolean other than 0 or
        /// 1, an over-long or overflowing varint, a duplicate map key, trailing bytes after a body …
        public static let malformed = Code(.malformed)
        /// A declared size or count is over a ``WireLimits`` setting; nothing was allocated for it.
        public static let tooLarge = Code(.tooLarge)
        /// No protocol version is common to both sides, or a version this build does not implement.
        public static let unsupportedVersion = Code(.unsupportedVersion)
        /// The frame's message kind is not one this version knows.
        public static let unknownKind = Code(.unknownKind)
        /// A string field is not valid UTF-8.
        public static let invalidUTF8 = Code(.invalidUTF8)
        /// An LZ4-compressed body does not decompress to exactly its declared size.
        public static let compression = Code(.compression)

        public var description: String { base.rawValue }
    }

    /// The kind of problem.
    public var code: Code
    /// Where decoding stopped: the byte offset in the frame, or, for a problem inside an LZ4-compressed body,
    /// the offset in the decompressed body. For encoding errors, the offset in the message body being built.
    public var offset: Int
    /// A human-readable explanation.
    public var message: String

    /// Creates an error.
    ///
    /// - Parameters:
    ///   - code: The kind of problem.
    ///   - offset: The byte offset where it was found.
    ///   - message: A human-readable explanation.
    public init(code: Code, offset: Int, message: String) {
        self.code = code
        self.offset = offset
        self.message = message
    }

    public var description: String { "wire \(code) at byte \(offset): \(message)" }
}

// MARK: - Factories

extension WireError {
    static func truncated(at offset: Int, _ what: String) -> Self {
        .init(code: .truncated, offset: offset, message: "the input ends inside \(what)")
    }

    static func malformed(at offset: Int, _ message: String) -> Self {
        .init(code: .malformed, offset: offset, message: message)
    }

    static func tooLarge(at offset: Int, _ what: String, value: UInt64, limit: Int) -> Self {
        .init(code: .tooLarge, offset: offset, message: "\(what) of \(value) is over the limit of \(limit)")
    }
}
