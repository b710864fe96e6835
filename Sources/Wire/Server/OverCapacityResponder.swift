import NIOCore

/// The whole pipeline of a connection accepted while the server already has its most connections open: answers
/// at once with HTTP 503 (`Retry-After: 1`) without reading the request, closes its sending half so the client
/// reads the answer to its end, discards what the client still sends, and closes the connection when the client
/// does, or after `grace` at the latest.
final class OverCapacityResponder: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    private let grace: TimeAmount
    private let limit: Int
    private var answered = false

    /// - Parameters:
    ///   - limit: The server's connection limit (named in the answer).
    ///   - grace: Longest wait for the client to close after the answer.
    init(limit: Int, grace: TimeAmount) {
        self.limit = limit
        self.grace = grace
    }

    func handlerAdded(context: ChannelHandlerContext) {
        if context.channel.isActive { answer(context) }
    }

    func channelActive(context: ChannelHandlerContext) {
        answer(context)
        context.fireChannelActive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {}  // The request is not read.

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        context.close(promise: nil)
    }

    private func answer(_ context: ChannelHandlerContext) {
        guard !answered else { return }
        answered = true
        let body = "the server has its most connections open (\(limit)); try again later\n"
        let response =
            "HTTP/1.1 503 Service Unavailable\r\nRetry-After: 1\r\nContent-Type: text/plain; charset=utf-8\r\n"
            + "Content-Length: \(body.utf8.count)\r\nConnection: close\r\n\r\n" + body
        let channel = context.channel
        let closing = channel.eventLoop.scheduleTask(in: grace) { channel.close(promise: nil) }
        channel.closeFuture.whenComplete { _ in closing.cancel() }
        context.writeAndFlush(wrapOutboundOut(channel.allocator.buffer(string: response))).whenComplete { result in
            switch result {
            case .success: channel.close(mode: .output, promise: nil)
            case .failure: channel.close(promise: nil)
            }
        }
    }
}
