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
    /// A body other than the reason (the metrics exposition), and its content type.
    var body: [UInt8]? = nil
    var contentType = "text/plain; charset=utf-8"

    /// - Parameters:
    ///   - status: The response status.
    ///   - headers: Extra headers.
    ///   - reason: The one-line body.
    init(_ status: HTTPResponseStatus, headers: [(String, String)] = [], reason: String) {
        self.status = status
        self.headers = HTTPHeaders(headers)
        self.reason = reason
    }

    /// A successful answer with `body` (the metrics exposition).
    init(_ status: HTTPResponseStatus, body: [UInt8], contentType: String) {
        self.init(status, reason: "")
        self.body = body
        self.contentType = contentType
    }

    /// Writes the response on `context`'s channel, then closes the channel.
    func write(on context: ChannelHandlerContext) {
        let body = self.body ?? Array((reason + "\n").utf8)
        var headers = headers
        headers.add(name: "Content-Type", value: contentType)
        headers.add(name: "Content-Length", value: "\(body.count)")
        headers.add(name: "Connection", value: "close")
        let head = HTTPResponseHead(version: .http1_1, status: status, headers: headers)
        context.write(NIOAny(HTTPServerResponsePart.head(head)), promise: nil)
        context.write(
            NIOAny(HTTPServerResponsePart.body(.byteBuffer(context.channel.allocator.buffer(bytes: body)))),
            promise: nil)
        let channel = context.channel
        context.writeAndFlush(NIOAny(HTTPServerResponsePart.end(nil))).whenComplete { _ in
            channel.close(promise: nil)
        }
    }
}
