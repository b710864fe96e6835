import StreamKitWire
import Testing

/// The opening handshake is checked as RFC 6455 §4.2.1 says, over raw TCP: every malformed upgrade is refused with
/// the right status and the connection closes; a well-formed one upgrades.
@Suite(.timeLimit(.minutes(1)))
struct UpgradeValidationTests {
    /// A handshake request: `headers` replace the standard ones of the same name (a nil value removes one).
    struct Request: Sendable, CustomTestStringConvertible {
        var label: String
        var method = "GET"
        var path = "/streamkit"
        var version = "HTTP/1.1"
        var headers: [(String, String?)] = []
        /// Headers added after the standard ones (repeats).
        var extra: [(String, String)] = []

        var testDescription: String { label }

        var text: String {
            var fields: [(String, String?)] = [
                ("Host", "127.0.0.1"), ("Upgrade", "websocket"), ("Connection", "Upgrade"),
                ("Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ=="), ("Sec-WebSocket-Version", "13"),
            ]
            for (name, value) in headers {
                if let index = fields.firstIndex(where: { $0.0 == name }) {
                    fields[index].1 = value
                } else {
                    fields.append((name, value))
                }
            }
            var lines = ["\(method) \(path) \(version)"]
            for case (let name, let value?) in fields { lines.append("\(name): \(value)") }
            for (name, value) in extra { lines.append("\(name): \(value)") }
            return lines.joined(separator: "\r\n") + "\r\n\r\n"
        }
    }

    /// Sends `request` on a new connection and waits for the whole answer: the server closes after a refusal;
    /// after a 101 this side closes.
    private func exchange(_ request: Request, port: Int) async throws -> RawConnection {
        let connection = try await RawConnection.open(port: port)
        try await connection.send(request.text)
        #expect(await connection.waitForResponseHead(), "no answer to \(request.label)")
        if connection.status != 101 {
            #expect(await connection.waitUntilClosed(), "the server did not close after refusing \(request.label)")
        }
        await connection.close()
        return connection
    }

    @Test(
        "a well-formed upgrade is accepted, header tokens compared case-insensitively and within lists",
        arguments: [
            Request(label: "standard"),
            Request(label: "Connection token list", headers: [("Connection", "keep-alive, Upgrade")]),
            Request(label: "lower-case Connection", headers: [("Connection", "upgrade")]),
            Request(label: "mixed-case Upgrade", headers: [("Upgrade", "WebSocket")]),
            Request(label: "query string", path: "/streamkit?x=1"),
            Request(label: "key with + and /", headers: [("Sec-WebSocket-Key", "+/+/+/+/+/+/+/+/+/+/+w==")]),
        ])
    func wellFormedUpgradeIsAccepted(request: Request) async throws {
        try await withTestServer { port, _ in
            let answer = try await exchange(request, port: port)

            #expect(answer.status == 101)
        }
    }

    @Test(
        "a malformed handshake on the StreamKit path is refused with 400 and the connection closes",
        arguments: [
            Request(label: "Sec-WebSocket-Key not base64", headers: [("Sec-WebSocket-Key", "not a key!")]),
            Request(label: "Sec-WebSocket-Key of 15 bytes", headers: [("Sec-WebSocket-Key", "AAAAAAAAAAAAAAAAAAAA")]),
            Request(
                label: "Sec-WebSocket-Key of 17 bytes", headers: [("Sec-WebSocket-Key", "AAAAAAAAAAAAAAAAAAAAAAA=")]),
            Request(
                label: "Sec-WebSocket-Key without padding", headers: [("Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ")]),
            Request(
                label: "Sec-WebSocket-Key with stray bits",
                headers: [("Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZR==")]),
            Request(label: "Sec-WebSocket-Key empty", headers: [("Sec-WebSocket-Key", "")]),
            Request(label: "Sec-WebSocket-Key missing", headers: [("Sec-WebSocket-Key", nil)]),
            Request(label: "two Sec-WebSocket-Key", extra: [("Sec-WebSocket-Key", "AAAAAAAAAAAAAAAAAAAAAA==")]),
            Request(label: "Connection missing", headers: [("Connection", nil)]),
            Request(label: "Connection: keep-alive", headers: [("Connection", "keep-alive")]),
            Request(label: "Connection: upgraded", headers: [("Connection", "upgraded")]),
            Request(label: "Upgrade missing", headers: [("Upgrade", nil)]),
            Request(label: "Upgrade: h2c", headers: [("Upgrade", "h2c")]),
            Request(label: "HTTP/1.0", version: "HTTP/1.0"),
            Request(label: "Host missing", headers: [("Host", nil)]),
            Request(label: "Sec-WebSocket-Version missing", headers: [("Sec-WebSocket-Version", nil)]),
        ])
    func malformedHandshakeIsBadRequest(request: Request) async throws {
        try await withTestServer { port, _ in
            let answer = try await exchange(request, port: port)

            #expect(answer.status == 400)
            #expect(answer.isClosed)
        }
    }

    @Test(
        "a Sec-WebSocket-Version other than 13 is refused with 426 and Sec-WebSocket-Version: 13",
        arguments: ["8", "12", "14", "13, 8", "abc"])
    func otherVersionIsUpgradeRequired(version: String) async throws {
        try await withTestServer { port, _ in
            let answer = try await exchange(
                Request(label: "version \(version)", headers: [("Sec-WebSocket-Version", version)]), port: port)

            #expect(answer.status == 426)
            #expect(answer.header("Sec-WebSocket-Version") == "13")
            #expect(answer.isClosed)
        }
    }

    @Test(
        "a method other than GET on the StreamKit path is refused with 405 and Allow: GET",
        arguments: ["POST", "PUT", "HEAD"])
    func otherMethodIsNotAllowed(method: String) async throws {
        try await withTestServer { port, _ in
            let answer = try await exchange(Request(label: method, method: method), port: port)

            #expect(answer.status == 405)
            #expect(answer.header("Allow") == "GET")
        }
    }

    @Test("any request on another path is 404")
    func otherPathIsNotFound() async throws {
        try await withTestServer { port, _ in
            let upgrade = try await exchange(Request(label: "upgrade elsewhere", path: "/elsewhere"), port: port)
            let post = try await exchange(Request(label: "POST elsewhere", method: "POST", path: "/"), port: port)

            #expect(upgrade.status == 404)
            #expect(post.status == 404)
        }
    }

    @Test("a well-formed upgrade with a refused token is still 401 on a server with authentication")
    func wellFormedUpgradeWithoutTokenIsUnauthorized() async throws {
        let hmac = StreamKitServer.Configuration(authentication: .hmac(secret: TestTokens.secret), port: 0)
        try await withTestServer(hmac) { port, _ in
            let answer = try await exchange(Request(label: "no token"), port: port)
            let malformed = try await exchange(
                Request(label: "no token, version 8", headers: [("Sec-WebSocket-Version", "8")]), port: port)

            #expect(answer.status == 401)
            #expect(malformed.status == 426)  // The handshake is checked before the token.
        }
    }
}
