import NIOCore
import NIOHTTP1

/// An HTTP answer that refuses a request before any WebSocket exists: a status, extra headers and a one-line
/// plain-text reason as the body, with `Connection: close`; the connection closes once it is written.
struct HTTPRefusal: Sendable, Equatable {
    /// The response status.
    var status: HTTPResponseStatus
    /// Headers besides `Content-Type`, `Content-Length` and `Connection`.
    var headers: HTTPHeaders
    /// Why, for a person: the response body (one line) and the debug log.
    var reason: String

    /// - Parameters:
    ///   - status: The response status.
    ///   - headers: Extra headers.
    ///   - reason: The one-line body.
    init(_ status: HTTPResponseStatus, headers: [(String, String)] = [], reason: String) {
        self.status = status
        self.headers = HTTPHeaders(headers)
        self.reason = reason
    }

    /// Writes the response on `context`'s channel, then closes the channel.
    func write(on context: ChannelHandlerContext) {
        let body = reason + "\n"
        var headers = headers
        headers.add(name: "Content-Type", value: "text/plain; charset=utf-8")
        headers.add(name: "Content-Length", value: "\(body.utf8.count)")
        headers.add(name: "Connection", value: "close")
        let head = HTTPResponseHead(version: .http1_1, status: status, headers: headers)
        context.write(NIOAny(HTTPServerResponsePart.head(head)), promise: nil)
        context.write(
            NIOAny(HTTPServerResponsePart.body(.byteBuffer(context.channel.allocator.buffer(string: body)))),
            promise: nil)
        let channel = context.channel
        context.writeAndFlush(NIOAny(HTTPServerResponsePart.end(nil))).whenComplete { _ in
            channel.close(promise: nil)
        }
    }
}
