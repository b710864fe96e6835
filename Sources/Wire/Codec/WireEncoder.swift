import StreamKitLogFiles

/// Encodes messages into frames, reusing its buffers so steady-state encoding allocates nothing.
///
/// Each call builds one frame: the message body is written straight into an internal buffer with raw stores,
/// then, when the body is at least ``compressionThreshold`` bytes and LZ4 makes it smaller, compressed into a
/// second buffer; the header goes in front last, without moving the body. The frame bytes handed to
/// ``withFrame(_:_:)`` stay valid only during the call.
///
/// The encoder refuses to build a message a peer with the same ``WireLimits`` would refuse to decode.
/// Noncopyable: one owner at a time (a connection's writer), which is what makes it `Sendable`.
public struct WireEncoder: ~Copyable, @unchecked Sendable {
    // @unchecked: the buffers are raw memory owned by this noncopyable value alone; sending the encoder moves it.

    /// The protocol version the frames are for.
    public let version: WireVersion
    /// Bodies of at least this many bytes are LZ4-compressed when that makes them smaller; `Int.max` turns
    /// compression off.
    public let compressionThreshold: Int
    /// The limits the encoded messages respect.
    public let limits: WireLimits

    private var body: WireBuffer
    private var packed: WireBuffer
    private static let retainedCapacity = 1 << 20

    /// Creates an encoder.
    ///
    /// - Parameters:
    ///   - version: The negotiated protocol version.
    ///   - compressionThreshold: The smallest body size worth compressing (default 4 KiB).
    ///   - limits: Sizes and counts not to exceed.
    public init(version: WireVersion = .current, compressionThreshold: Int = 4096, limits: WireLimits = WireLimits()) {
        self.version = version
        self.compressionThreshold = max(0, compressionThreshold)
        self.limits = limits
        body = WireBuffer(capacity: 64 << 10)
        packed = WireBuffer(capacity: 64 << 10)
    }

    /// Encodes `message` as one frame and passes its bytes to `use`.
    ///
    /// - Parameters:
    ///   - message: The message.
    ///   - use: Receives the frame; the bytes are valid only during the call (copy them, e.g. into a channel
    ///     buffer).
    /// - Returns: What `use` returns.
    /// - Throws: ``WireError`` `tooLarge` when a string, map, list, batch or the whole message is over the limits.
    /// - Complexity: O(message size), plus LZ4 for bodies at or above the threshold.
    public mutating func withFrame<Result>(
        _ message: WireMessage, _ use: (UnsafeRawBufferPointer) -> Result
    ) throws(WireError) -> Result {
        body.trim(to: Self.retainedCapacity)
        packed.trim(to: Self.retainedCapacity)
        body.count = WireBuffer.headroom
        try message.encodeBody(into: &body, limits: limits)
        let kind = UInt64(message.kind.rawValue)
        let bodyLength = body.count - WireBuffer.headroom
        guard bodyLength <= limits.maxMessageBytes else {
            throw .tooLarge(at: 0, "a message", value: UInt64(bodyLength), limit: limits.maxMessageBytes)
        }
        // A stored block is compressed already: LZ4 over it again would cost time and win nothing.
        if bodyLength >= compressionThreshold, bodyLength > 0, message.kind != .storedEntries {
            let bound = LZ4.bound(bodyLength)
            packed.count = WireBuffer.headroom
            packed.reserve(bound)
            let compressed = LZ4.compress(
                UnsafeRawBufferPointer(start: body.base + WireBuffer.headroom, count: bodyLength),
                into: UnsafeMutableRawBufferPointer(start: packed.base + WireBuffer.headroom, count: bound))
            if compressed > 0, compressed < bodyLength, compressed <= limits.maxFrameBytes {
                packed.count = WireBuffer.headroom + compressed
                let start = Self.putHeader(
                    before: packed.base + WireBuffer.headroom, flags: FrameHeader.compressedFlag, kind: kind,
                    length: compressed, rawLength: bodyLength)
                return use(UnsafeRawBufferPointer(start: packed.base + start, count: packed.count - start))
            }
        }
        guard bodyLength <= limits.maxFrameBytes else {
            throw .tooLarge(at: 0, "a frame body", value: UInt64(bodyLength), limit: limits.maxFrameBytes)
        }
        let start = Self.putHeader(
            before: body.base + WireBuffer.headroom, flags: 0, kind: kind, length: bodyLength, rawLength: nil)
        return use(UnsafeRawBufferPointer(start: body.base + start, count: body.count - start))
    }

    /// Encodes `message` as one frame in a new array.
    ///
    /// - Parameter message: The message.
    /// - Returns: The frame bytes.
    /// - Throws: ``WireError`` `tooLarge` when the message is over the limits.
    public mutating func encode(_ message: WireMessage) throws(WireError) -> [UInt8] {
        try withFrame(message) { Array($0) }
    }

    /// Encodes `message` as one frame appended to `bytes` (several frames may follow each other in one buffer).
    ///
    /// - Parameters:
    ///   - message: The message.
    ///   - bytes: Where the frame goes.
    /// - Throws: ``WireError`` `tooLarge` when the message is over the limits.
    public mutating func encode(_ message: WireMessage, appendingTo bytes: inout [UInt8]) throws(WireError) {
        try withFrame(message) { bytes.append(contentsOf: $0) }
    }

    /// Writes the header so that it ends at `bodyStart` (inside the headroom); returns its first byte's offset
    /// from the buffer base.
    private static func putHeader(
        before bodyStart: UnsafeMutableRawPointer, flags: UInt8, kind: UInt64, length: Int, rawLength: Int?
    ) -> Int {
        var size = 1 + FrameHeader.varintSize(kind) + FrameHeader.varintSize(UInt64(length))
        if let rawLength { size += FrameHeader.varintSize(UInt64(rawLength)) }
        var pointer = bodyStart - size
        pointer.storeBytes(of: flags, as: UInt8.self)
        pointer += 1
        pointer += FrameHeader.storeVarint(kind, at: pointer)
        pointer += FrameHeader.storeVarint(UInt64(length), at: pointer)
        if let rawLength { _ = FrameHeader.storeVarint(UInt64(rawLength), at: pointer) }
        return WireBuffer.headroom - size
    }
}
