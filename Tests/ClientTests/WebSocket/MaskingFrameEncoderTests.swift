import NIOCore
import NIOWebSocket
import Testing

@testable import StreamKitClient

/// The client's own WebSocket framing: what it writes is what RFC 6455 says a client writes, checked against NIO's
/// byte-at-a-time unmasking, at every length encoding; and the handshake's accept value is the RFC's.
struct MaskingFrameEncoderTests {
    /// The frame read back from `bytes` the way a server reads it: header fields, key, payload unmasked by NIO.
    private struct Truncated: Error {}

    private static func read(_ bytes: ByteBuffer) throws -> (first: UInt8, masked: Bool, payload: [UInt8]) {
        var bytes = bytes
        guard let first = bytes.readInteger(as: UInt8.self), let second = bytes.readInteger(as: UInt8.self) else {
            throw Truncated()
        }
        var length = Int(second & 0x7F)
        if length == 126 {
            guard let long = bytes.readInteger(as: UInt16.self) else { throw Truncated() }
            length = Int(long)
        } else if length == 127 {
            guard let long = bytes.readInteger(as: UInt64.self) else { throw Truncated() }
            length = Int(long)
        }
        guard let key = bytes.readBytes(length: 4).flatMap(WebSocketMaskingKey.init),
            var payload = bytes.readSlice(length: length)
        else { throw Truncated() }
        #expect(bytes.readableBytes == 0, "nothing after the payload")
        payload.webSocketUnmask(key)
        return (first, second & 0x80 != 0, Array(buffer: payload))
    }

    @Test(arguments: [0, 1, 7, 8, 9, 125, 126, 127, 65_535, 65_536, 100_003])
    func framesOfEveryLengthEncodingAreMaskedAndReadBackAsSent(length: Int) throws {
        let payload = (0..<length).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ 7) }
        let frame = WebSocketFrame(fin: true, opcode: .binary, maskKey: .random(), data: ByteBuffer(bytes: payload))

        let encoded = MaskingFrameEncoder.encode(frame, allocator: ByteBufferAllocator())
        let read = try Self.read(encoded)

        #expect(read.first == 0x82, "FIN and the binary opcode")
        #expect(read.masked)
        #expect(read.payload == payload)
        if length >= 16 { #expect(Array(buffer: encoded).suffix(length) != payload, "the payload goes out masked") }
    }

    @Test func aFrameWithoutAKeyIsMaskedWithAFreshOneAndControlFramesKeepTheirOpcode() throws {
        let close = WebSocketFrame(fin: true, opcode: .connectionClose, data: ByteBuffer(bytes: [0x03, 0xE8]))

        let read = try Self.read(MaskingFrameEncoder.encode(close, allocator: ByteBufferAllocator()))

        #expect(read.first == 0x88)
        #expect(read.masked)
        #expect(read.payload == [0x03, 0xE8])
    }

    @Test func theHandshakeExpectsTheAcceptValueOfRFC6455() {
        // RFC 6455 §1.3: the key "dGhlIHNhbXBsZSBub25jZQ==" is answered with "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=".
        #expect(
            WebSocketClientUpgrader<Int>.acceptValue(for: "dGhlIHNhbXBsZSBub25jZQ==") == "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=")
    }
}
