import StreamKitEngine

/// A parsed `ws://` or `wss://` URL: where to connect, whether over TLS, and what to ask for in the upgrade
/// request.
struct WebSocketEndpoint: Sendable, Hashable {
    /// Host name or address to connect to (IPv6 without brackets).
    var host: String
    var port: Int
    /// Whether the connection runs over TLS (`wss://`).
    var isSecure: Bool
    /// The request target: path and query.
    var target: String
    /// The `Host` header value.
    var hostHeader: String

    /// The path used when the URL has none.
    static let defaultPath = "/streamkit"

    /// Parses `ws://host[:port][/path][?query]` or the same with `wss://`. An empty path or `/` becomes
    /// ``defaultPath``; the port defaults to 80 (`ws`) or 443 (`wss`).
    ///
    /// - Parameter url: The URL text.
    /// - Throws: `invalidArgument` for anything else.
    init(parsing url: String) throws(StreamKitError) {
        let lowered = url.lowercased()
        let secure = lowered.hasPrefix("wss://")
        guard secure || lowered.hasPrefix("ws://") else {
            throw Self.invalid(url, "the scheme must be ws:// or wss://")
        }
        let rest = url.dropFirst(secure ? 6 : 5)
        let authorityEnd = rest.firstIndex(where: { $0 == "/" || $0 == "?" || $0 == "#" }) ?? rest.endIndex
        let authority = rest[..<authorityEnd]
        var target = String(rest[authorityEnd...])
        if let fragment = target.firstIndex(of: "#") { target = String(target[..<fragment]) }
        // No path, or only the root (`ws://host:port/`), asks for the default path: a server serves nothing at `/`.
        if target.hasPrefix("/"), target.dropFirst().first.map({ $0 == "?" }) ?? true { target.removeFirst() }
        if target.isEmpty || target.hasPrefix("?") { target = Self.defaultPath + target }
        guard !authority.isEmpty, !authority.contains("@") else {
            throw Self.invalid(url, "the URL needs a host (and no user info)")
        }
        var host: Substring
        var portText: Substring?
        if authority.hasPrefix("[") {
            guard let close = authority.firstIndex(of: "]") else { throw Self.invalid(url, "unclosed IPv6 bracket") }
            host = authority[authority.index(after: authority.startIndex)..<close]
            let after = authority[authority.index(after: close)...]
            if !after.isEmpty {
                guard after.hasPrefix(":") else { throw Self.invalid(url, "unexpected text after the IPv6 address") }
                portText = after.dropFirst()
            }
        } else if let colon = authority.lastIndex(of: ":") {
            host = authority[..<colon]
            portText = authority[authority.index(after: colon)...]
        } else {
            host = authority
        }
        guard !host.isEmpty else { throw Self.invalid(url, "the URL needs a host") }
        var port = secure ? 443 : 80
        if let portText {
            guard let value = Int(portText), (1...65_535).contains(value) else {
                throw Self.invalid(url, "bad port '\(portText)'")
            }
            port = value
        }
        self.host = String(host)
        self.port = port
        isSecure = secure
        self.target = target
        hostHeader = String(authority)
    }

    /// Whether ``host`` is an IPv4 or IPv6 address (TLS then sends no server name and the certificate must
    /// list the address).
    var hostIsAddress: Bool {
        host.contains(":") || (host.split(separator: ".").count == 4 && host.allSatisfy { $0.isNumber || $0 == "." })
    }

    private static func invalid(_ url: String, _ why: String) -> StreamKitError {
        StreamKitError(code: .invalidArgument, message: "bad WebSocket URL '\(url)': \(why)")
    }
}
