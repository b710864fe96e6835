public import FoundationEssentials
public import StreamKitEngine

/// One frame of the multiplexing layer: exactly one per WebSocket binary message.
///
/// Layout (byte-exact in `docs/protocol.md` §7): `u8 type`, `varint streamID`, then the type's fields.
/// Stream frames (open, data, close, error, credit) have a non-zero stream id; connection frames (ping, pong,
/// goAway) have stream id 0. Decoding never traps: any input gives a frame or a ``WireError``.
public enum MuxFrame: Hashable, Sendable {
    /// Opens a stream with its first request, the store it addresses (nil for connection-level requests), an
    /// optional W3C `traceparent`, and the credit the opener grants the acceptor for its answers.
    case open(streamID: UInt64, store: UUID?, request: WireMessage, traceparent: String?, credit: MuxCredit)
    /// A message on an open stream; takes one message and the frame's size in bytes of credit.
    case data(streamID: UInt64, message: WireMessage)
    /// The sender's half of the stream is finished (it sends no more data); the other half may go on.
    case close(streamID: UInt64)
    /// The stream failed with a typed error; both halves end.
    case error(streamID: UInt64, error: StreamKitError)
    /// More credit for the receiver of this frame to send on the stream.
    case credit(streamID: UInt64, credit: MuxCredit)
    /// A heartbeat; the peer answers with a pong carrying the same 8 opaque bytes.
    case ping(UInt64)
    /// The answer to a ping.
    case pong(UInt64)
    /// The sender accepts no stream opened by the receiver with an id above `lastStreamID`; streams up to it
    /// finish normally. An error says why the connection is ending, when it is not a graceful shutdown.
    case goAway(lastStreamID: UInt64, error: StreamKitError?)

    /// The frame type byte.
    enum Kind: UInt8 {
        case open = 1
        case data = 2
        case close = 3
        case error = 4
        case credit = 5
        case ping = 6
        case pong = 7
        case goAway = 8
    }

    /// The stream the frame belongs to; 0 for connection frames.
    public var streamID: UInt64 {
        switch self {
        case .open(let id, _, _, _, _), .data(let id, _), .close(let id), .error(let id, _), .credit(let id, _): id
        case .ping, .pong, .goAway: 0
        }
    }
}

// MARK: - Encoding

extension MuxFrame {
    /// Encodes the frame into a new array.
    ///
    /// Convenient but not for hot paths: it builds a message encoder per call (``MuxConnection`` reuses one).
    ///
    /// - Parameter limits: The limits the frame must respect.
    /// - Returns: The frame bytes.
    /// - Throws: ``WireError`` `tooLarge` when the message, a string or the frame is over the limits.
    public func encoded(limits: MuxLimits = MuxLimits()) throws(WireError) -> [UInt8] {
        var encoder = WireEncoder(limits: limits.wire)
        var buffer = WireBuffer(capacity: 256)
        try encode(into: &buffer, encoder: &encoder, limits: limits)
        return Array(buffer.bytes[WireBuffer.headroom...])
    }

    /// Writes the frame into `buffer` after its headroom (`buffer.count` is reset).
    func encode(into buffer: inout WireBuffer, encoder: inout WireEncoder, limits: MuxLimits) throws(WireError) {
        buffer.trim(to: 1 << 20)
        buffer.count = WireBuffer.headroom
        switch self {
        case .open(let id, let store, let request, let traceparent, let credit):
            Self.header(.open, id, into: &buffer)
            buffer.writeByte((traceparent == nil ? 0 : OpenFlags.traceparent) | (store == nil ? 0 : OpenFlags.store))
            if let traceparent {
                try buffer.writeString(traceparent, limit: limits.maxTraceparentBytes)
            }
            if let store {
                buffer.reserve(16)
                withUnsafeBytes(of: store.uuid) { buffer.putRaw($0) }
            }
            buffer.writeVarint(credit.messages)
            buffer.writeVarint(credit.bytes)
            try Self.append(request, into: &buffer, encoder: &encoder)
        case .data(let id, let message):
            Self.header(.data, id, into: &buffer)
            try Self.append(message, into: &buffer, encoder: &encoder)
        case .close(let id):
            Self.header(.close, id, into: &buffer)
        case .error(let id, let error):
            Self.header(.error, id, into: &buffer)
            try error.encodeWire(into: &buffer, limits: limits.wire)
        case .credit(let id, let credit):
            Self.header(.credit, id, into: &buffer)
            buffer.writeVarint(credit.messages)
            buffer.writeVarint(credit.bytes)
        case .ping(let opaque), .pong(let opaque):
            Self.header(self.isPing ? .ping : .pong, 0, into: &buffer)
            buffer.reserve(8)
            withUnsafeBytes(of: opaque.littleEndian) { buffer.putRaw($0) }
        case .goAway(let last, let error):
            Self.header(.goAway, 0, into: &buffer)
            buffer.writeVarint(last)
            if let error {
                buffer.writeByte(1)
                try error.encodeWire(into: &buffer, limits: limits.wire)
            } else {
                buffer.writeByte(0)
            }
        }
        let size = buffer.count - WireBuffer.headroom
        guard size <= limits.maxFrameBytes else {
            throw .tooLarge(at: 0, "a mux frame", value: UInt64(size), limit: limits.maxFrameBytes)
        }
    }

    /// The bits of an open frame's flags byte.
    enum OpenFlags {
        /// A `traceparent` string follows.
        static let traceparent: UInt8 = 0x01
        /// A 16-byte store id follows (after the traceparent, when both are present).
        static let store: UInt8 = 0x02
    }

    private var isPing: Bool {
        if case .ping = self { return true }
        return false
    }

    private static func header(_ kind: Kind, _ id: UInt64, into buffer: inout WireBuffer) {
        buffer.writeByte(kind.rawValue)
        buffer.writeVarint(id)
    }

    private static func append(
        _ message: WireMessage, into buffer: inout WireBuffer, encoder: inout WireEncoder
    ) throws(WireError) {
        try encoder.withFrame(message) { frame in
            buffer.reserve(frame.count)
            buffer.putRaw(frame)
        }
    }
}

// MARK: - Decoding

extension MuxFrame {
    /// Decodes exactly one mux frame.
    ///
    /// - Parameters:
    ///   - bytes: One WebSocket binary message, nothing more and nothing less.
    ///   - limits: Sizes to accept.
    /// - Throws: ``WireError``: `tooLarge` (the frame, a string or a carried message), `truncated`,
    ///   `malformed` (unknown type, a stream id of 0 on a stream frame or non-zero on a connection frame, a bad
    ///   presence byte, trailing bytes), or any error of the carried message frame, with the byte offset.
    public init(decoding bytes: UnsafeRawBufferPointer, limits: MuxLimits = MuxLimits()) throws(WireError) {
        self = try Self.decode(bytes, limits: limits, decoder: WireDecoder(limits: limits.wire))
    }

    /// Decodes exactly one mux frame held in an array.
    ///
    /// - Parameters:
    ///   - bytes: One WebSocket binary message.
    ///   - limits: Sizes to accept.
    /// - Throws: ``WireError`` as ``init(decoding:limits:)-(UnsafeRawBufferPointer,_)``.
    public init(decoding bytes: [UInt8], limits: MuxLimits = MuxLimits()) throws(WireError) {
        let result: Result<MuxFrame, WireError> = bytes.withUnsafeBytes { raw in
            do throws(WireError) {
                return .success(try Self.decode(raw, limits: limits, decoder: WireDecoder(limits: limits.wire)))
            } catch {
                return .failure(error)
            }
        }
        self = try result.get()
    }

    static func decode(
        _ bytes: UnsafeRawBufferPointer, limits: MuxLimits, decoder: WireDecoder
    ) throws(WireError) -> MuxFrame {
        guard bytes.count <= limits.maxFrameBytes else {
            throw .tooLarge(at: 0, "a mux frame", value: UInt64(bytes.count), limit: limits.maxFrameBytes)
        }
        var reader = WireReader(bytes, limits: limits.wire)
        let typeByte = try reader.byte("the mux frame type")
        guard let kind = Kind(rawValue: typeByte) else {
            throw .malformed(at: 0, "unknown mux frame type \(typeByte)")
        }
        let idOffset = reader.position
        let id = try reader.varint()
        switch kind {
        case .open, .data, .close, .error, .credit:
            guard id != 0 else { throw .malformed(at: idOffset, "a stream frame has stream id 0") }
        case .ping, .pong, .goAway:
            guard id == 0 else { throw .malformed(at: idOffset, "a connection frame has stream id \(id)") }
        }
        let frame: MuxFrame
        switch kind {
        case .open:
            let flagsOffset = reader.position
            let flags = try reader.byte("the open flags")
            guard flags & ~(OpenFlags.traceparent | OpenFlags.store) == 0 else {
                throw .malformed(at: flagsOffset, "unknown open flags \(flags)")
            }
            var traceparent: String?
            if flags & OpenFlags.traceparent != 0 {
                let length = try reader.length("a traceparent", limit: limits.maxTraceparentBytes)
                let start = reader.position
                let raw = reader.take(length)
                guard let text = String(validating: raw.assumingMemoryBound(to: UInt8.self), as: UTF8.self) else {
                    throw WireError(code: .invalidUTF8, offset: start, message: "a traceparent is not valid UTF-8")
                }
                traceparent = text
            }
            var store: UUID?
            if flags & OpenFlags.store != 0 {
                guard reader.remaining >= 16 else { throw .truncated(at: reader.position, "a store id") }
                let raw = reader.take(16)
                store = UUID(uuid: raw.loadUnaligned(as: uuid_t.self))
            }
            let credit = try credit(&reader)
            let request = try message(&reader, decoder: decoder)
            frame = .open(streamID: id, store: store, request: request, traceparent: traceparent, credit: credit)
        case .data:
            frame = .data(streamID: id, message: try message(&reader, decoder: decoder))
        case .close:
            frame = .close(streamID: id)
        case .error:
            frame = .error(streamID: id, error: try StreamKitError.decodeWire(from: &reader))
        case .credit:
            frame = .credit(streamID: id, credit: try credit(&reader))
        case .ping, .pong:
            guard reader.remaining >= 8 else { throw .truncated(at: reader.position, "a ping payload") }
            let raw = reader.take(8)
            let opaque = UInt64(littleEndian: raw.loadUnaligned(as: UInt64.self))
            frame = kind == .ping ? .ping(opaque) : .pong(opaque)
        case .goAway:
            let last = try reader.varint()
            let error = try reader.presence() ? try StreamKitError.decodeWire(from: &reader) : nil
            frame = .goAway(lastStreamID: last, error: error)
        }
        try reader.expectEnd("a mux frame")
        return frame
    }

    /// Two varints, each at most ``MuxCredit/maxWindow``.
    private static func credit(_ reader: inout WireReader) throws(WireError) -> MuxCredit {
        let start = reader.position
        let messages = try reader.varint()
        let bytes = try reader.varint()
        let limit = UInt64(MuxCredit.maxWindow)
        guard messages <= limit, bytes <= limit else {
            throw .tooLarge(at: start, "a credit grant", value: max(messages, bytes), limit: MuxCredit.maxWindow)
        }
        return MuxCredit(messages: Int(messages), bytes: Int(bytes))
    }

    /// The rest of the frame is one message frame of the codec.
    private static func message(
        _ reader: inout WireReader, decoder: WireDecoder
    ) throws(WireError) -> WireMessage {
        let start = reader.offset
        let body = reader.take(reader.remaining)
        do throws(WireError) {
            return try decoder.decode(frame: body)
        } catch {
            var shifted = error
            shifted.offset &+= start
            throw shifted
        }
    }
}
