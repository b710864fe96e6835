import NIOCore
import NIOHTTP1

/// Closes a connection whose request NIO's HTTP parser rejected. `HTTPServerProtocolErrorHandler` answers such
/// a request `400 Bad Request` with `Connection: close` but leaves closing to the rest of the pipeline; without
/// this the connection (a descriptor and one of `maxConnections` slots) stayed open until the upgrade timeout.
final class ParserErrorCloser: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = NIOAny

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        if error is HTTPParserError { context.close(promise: nil) }
        context.fireErrorCaught(error)
    }
}
