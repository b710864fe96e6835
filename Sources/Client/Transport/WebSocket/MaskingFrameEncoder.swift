import NIOCore
import NIOWebSocket
import StreamKitWire

/// Writes a client's WebSocket frames (RFC 6455 §5.2): the header with the mask bit, the frame's masking key (a
/// fresh random one if it has none: a client must mask every frame), then the payload, copied once and masked
/// eight bytes at a time.
final class MaskingFrameEncoder: ChannelOutboundHandler {
    typealias OutboundIn = WebSocketFrame
    typealias OutboundOut = ByteBuffer

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        let frame = unwrapOutboundIn(data)
        context.write(wrapOutboundOut(Self.encode(frame, allocator: context.channel.allocator)), promise: promise)
    }

    /// The frame as it goes on the wire.
    static func encode(_ frame: WebSocketFrame, allocator: ByteBufferAllocator) -> ByteBuffer {
        let key = frame.maskKey ?? .random()
        let length = frame.length
        var out = allocator.buffer(capacity: 14 + length)
        var first = UInt8(webSocketOpcode: frame.opcode)
        if frame.fin { first |= 0x80 }
        if frame.rsv1 { first |= 0x40 }
        if frame.rsv2 { first |= 0x20 }
        if frame.rsv3 { first |= 0x10 }
        out.writeInteger(first)
        if length < 126 {
            out.writeInteger(UInt8(0x80 | length))
        } else if length <= Int(UInt16.max) {
            out.writeInteger(UInt8(0x80 | 126))
            out.writeInteger(UInt16(length))
        } else {
            out.writeInteger(UInt8(0x80 | 127))
            out.writeInteger(UInt64(length))
        }
        out.writeBytes(key)
        let header = out.readableBytes
        if let extensionData = frame.extensionData { out.writeImmutableBuffer(extensionData) }
        out.writeImmutableBuffer(frame.data)
        out.applyWebSocketMask(key, from: header)
        return out
    }
}
