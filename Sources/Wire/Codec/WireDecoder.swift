import StreamKitLogFiles

/// Decodes frames into messages without ever trapping: any input gives a message or a ``WireError``.
///
/// Every size and count is checked against ``limits`` and the bytes actually present before anything is
/// allocated for it; a compressed body is decompressed into exactly its declared size. Each frame is read
/// through one raw-pointer cursor (no per-field slicing); decoded payloads are copied into one exactly-sized
/// array each, since `Payload`'s sharing initializer is internal to `StreamKitLogFiles`.
public struct WireDecoder: Sendable {
    /// The protocol version the frames are read as.
    public let version: WireVersion
    /// Sizes and counts the decoder accepts.
    public let limits: WireLimits

    /// Creates a decoder.
    ///
    /// - Parameters:
    ///   - version: The negotiated protocol version (hello frames decode under any version).
    ///   - limits: Sizes and counts to accept.
    public init(version: WireVersion = .current, limits: WireLimits = WireLimits()) {
        self.version = version
        self.limits = limits
    }

    /// The size of the frame that starts `bytes`, for splitting a byte stream into frames.
    ///
    /// - Parameter bytes: Received bytes, starting at a frame boundary.
    /// - Returns: The whole frame's size in bytes (it may be more than `bytes.count`: wait for the rest), or nil
    ///   when `bytes` ends inside the header.
    /// - Throws: ``WireError`` for a header that can never be valid (reserved bits, unknown kind, a length over
    ///   the limits), so a stream layer can fail fast without buffering the body.
    public func frameSize(in bytes: UnsafeRawBufferPointer) throws(WireError) -> Int? {
        do {
            return try FrameHeader.parse(bytes, limits: limits).frameSize
        } catch  where error.code == .truncated {
            return nil
        }
    }

    /// Decodes exactly one frame.
    ///
    /// - Parameter frame: The frame's bytes, nothing more and nothing less.
    /// - Returns: The message.
    /// - Throws: ``WireError``: `truncated`, `malformed` (also for bytes after the frame), `tooLarge`,
    ///   `unknownKind`, `invalidUTF8` or `compression`, with the offset where decoding stopped.
    /// - Complexity: O(frame size) plus LZ4 decompression.
    public func decode(frame: UnsafeRawBufferPointer) throws(WireError) -> WireMessage {
        let header = try FrameHeader.parse(frame, limits: limits)
        guard frame.count >= header.frameSize else {
            throw .truncated(
                at: frame.count, "a frame body (\(header.frameSize) bytes declared, \(frame.count) present)")
        }
        guard frame.count == header.frameSize else {
            throw .malformed(at: header.frameSize, "\(frame.count - header.frameSize) bytes after the frame")
        }
        let carried = UnsafeRawBufferPointer(rebasing: frame[header.size..<header.frameSize])
        guard header.isCompressed else {
            var reader = WireReader(carried, origin: header.size, limits: limits)
            return try WireMessage.decodeBody(kind: header.kind, from: &reader)
        }
        let rawLength = header.rawLength
        var written = 0
        let raw = [UInt8](unsafeUninitializedCapacity: rawLength) { target, initialized in
            written = LZ4.decompress(carried, into: UnsafeMutableRawBufferPointer(target))
            initialized = written == rawLength ? rawLength : 0
        }
        guard written == rawLength else {
            throw WireError(
                code: .compression, offset: header.size,
                message: "the LZ4 body does not decompress to its declared \(rawLength) bytes"
                    + (written < 0 ? " (corrupt)" : " (got \(written))"))
        }
        return try Self.decodeBody(kind: header.kind, raw, limits: limits)
    }

    /// Decodes exactly one frame.
    ///
    /// - Parameter frame: The frame's bytes, nothing more and nothing less.
    /// - Returns: The message.
    /// - Throws: ``WireError`` as ``decode(frame:)-(UnsafeRawBufferPointer)``.
    public func decode(frame: [UInt8]) throws(WireError) -> WireMessage {
        let result: Result<WireMessage, WireError> = frame.withUnsafeBytes { bytes in
            do throws(WireError) { return .success(try decode(frame: bytes)) } catch { return .failure(error) }
        }
        return try result.get()
    }

    private static func decodeBody(
        kind: WireMessageKind, _ raw: [UInt8], limits: WireLimits
    ) throws(WireError)
        -> WireMessage
    {
        let result: Result<WireMessage, WireError> = raw.withUnsafeBytes { bytes in
            var reader = WireReader(bytes, limits: limits)
            do throws(WireError) {
                return .success(try WireMessage.decodeBody(kind: kind, from: &reader))
            } catch {
                return .failure(error)
            }
        }
        return try result.get()
    }
}
