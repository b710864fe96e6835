import NIOHTTP1

/// Checks a WebSocket opening handshake as RFC 6455 §4.2.1 asks, before NIO's upgrader sees it, and says how to
/// refuse one that is not a StreamKit upgrade (`docs/protocol.md`, Opening handshake).
///
/// In this order: another path is 404 (whatever the method); on the StreamKit path a method other than `GET` is
/// 405 (`Allow: GET`); HTTP older than 1.1, no `Host`, an `Upgrade` without the token `websocket`, a
/// `Connection` without the token `Upgrade` (token lists, case-insensitive), or a `Sec-WebSocket-Key` that is not
/// exactly one base64 encoding of 16 bytes is 400; a missing `Sec-WebSocket-Version` is 400, and one that is
/// not `13` is 426 with `Sec-WebSocket-Version: 13`.
enum UpgradeRequestCheck {
    /// The refusal for `head`, or nil when it is a well-formed WebSocket upgrade of `path` (the token is checked
    /// after this).
    ///
    /// - Parameters:
    ///   - head: The request head.
    ///   - path: The path that upgrades (the query is ignored).
    static func refusal(for head: HTTPRequestHead, path: String) -> HTTPRefusal? {
        let target = head.uri.split(separator: "?", maxSplits: 1, omittingEmptySubsequences: false).first ?? ""
        guard target == path else {
            return HTTPRefusal(.notFound, reason: "no WebSocket endpoint here; StreamKit upgrades at \(path)")
        }
        guard head.method == .GET else {
            return HTTPRefusal(
                .methodNotAllowed, headers: [("Allow", "GET")], reason: "a WebSocket upgrade is a GET request")
        }
        guard head.version.major > 1 || (head.version.major == 1 && head.version.minor >= 1) else {
            return HTTPRefusal(.badRequest, reason: "a WebSocket upgrade needs HTTP/1.1")
        }
        guard head.headers["Host"].count == 1 else {
            return HTTPRefusal(.badRequest, reason: "a WebSocket upgrade needs exactly one Host header")
        }
        guard hasToken("websocket", in: "Upgrade", of: head.headers) else {
            return HTTPRefusal(.badRequest, reason: "a WebSocket upgrade needs Upgrade: websocket")
        }
        guard hasToken("upgrade", in: "Connection", of: head.headers) else {
            return HTTPRefusal(.badRequest, reason: "a WebSocket upgrade needs Connection: Upgrade")
        }
        let keys = head.headers[canonicalForm: "Sec-WebSocket-Key"]
        guard keys.count == 1, let key = keys.first, isValidKey(key) else {
            return HTTPRefusal(
                .badRequest, reason: "Sec-WebSocket-Key must be one base64 encoding of 16 bytes")
        }
        let versions = head.headers[canonicalForm: "Sec-WebSocket-Version"]
        guard !versions.isEmpty else {
            return HTTPRefusal(.badRequest, reason: "a WebSocket upgrade needs Sec-WebSocket-Version: 13")
        }
        guard versions.count == 1, versions.first == "13" else {
            return HTTPRefusal(
                .upgradeRequired, headers: [("Sec-WebSocket-Version", "13")],
                reason: "this server speaks WebSocket version 13 only")
        }
        return nil
    }

    /// Whether a comma-separated header (every field of that name) lists `token`, case-insensitively.
    static func hasToken(_ token: String, in name: String, of headers: HTTPHeaders) -> Bool {
        headers[canonicalForm: name].contains { $0.lowercased() == token }
    }

    /// Whether `key` is the canonical base64 encoding of 16 bytes: 22 characters of the base64 alphabet (the
    /// last of which carries only 2 bits, so its 4 low bits are 0), then `==`.
    static func isValidKey(_ key: Substring) -> Bool {
        let bytes = Array(key.utf8)
        guard bytes.count == 24, bytes[22] == UInt8(ascii: "="), bytes[23] == UInt8(ascii: "=") else { return false }
        for (index, byte) in bytes[..<22].enumerated() {
            guard let value = base64Value(byte) else { return false }
            if index == 21, value & 0x0F != 0 { return false }
        }
        return true
    }

    private static func base64Value(_ byte: UInt8) -> UInt8? {
        switch byte {
        case UInt8(ascii: "A")...UInt8(ascii: "Z"): byte - UInt8(ascii: "A")
        case UInt8(ascii: "a")...UInt8(ascii: "z"): byte - UInt8(ascii: "a") + 26
        case UInt8(ascii: "0")...UInt8(ascii: "9"): byte - UInt8(ascii: "0") + 52
        case UInt8(ascii: "+"): 62
        case UInt8(ascii: "/"): 63
        default: nil
        }
    }
}
