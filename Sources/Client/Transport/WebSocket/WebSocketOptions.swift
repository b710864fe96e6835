public import StreamKitWire

/// Settings of the WebSocket transport (``StreamKitClient/Transport/webSocket(_:)``): where the server is, how
/// to authenticate, the multiplexing limits, and how connections are re-established.
///
/// ```swift
/// var options = WebSocketOptions(url: "ws://streamkit.internal:7447/streamkit") { try await tokens.current() }
/// options.reconnectMaxBackoff = .seconds(10)
/// let client = StreamKitClient(transport: .webSocket(options))
/// ```
///
/// The transport's own timers — reconnect backoff and the connection heartbeat — run on real (monotonic) time,
/// not on ``ClientConfiguration/clock``.
public struct WebSocketOptions: Sendable {
    /// The server's WebSocket URL: `ws://host[:port][/path]`, or `wss://…` for TLS (checked as ``tls`` says).
    /// The port defaults to 80 (`ws`) or 443 (`wss`), and an empty path or `/` to `/streamkit`.
    public var url: String
    /// How a `wss://` server's certificate is checked: the system's trust store (default) or a CA file.
    /// Unused with `ws://`.
    public var tls: ClientTLS
    /// Called before **every** dial (the first connection and each reconnect); a non-nil token is sent as
    /// `Authorization: Bearer <token>`. Throwing a `StreamKitError` fails the dial with that error; any other
    /// error fails it with the retryable `storeUnavailable`.
    public var token: @Sendable () async throws -> String?
    /// Multiplexing limits and heartbeat timing of each connection (`import StreamKitWire` to change them).
    /// Frames larger than `limits.maxFrameBytes` are refused.
    public var limits: MuxLimits
    /// After a connection is lost the transport dials again at once; this is the wait after that attempt fails,
    /// doubling per failed attempt up to ``reconnectMaxBackoff``, with ±20 % jitter. Default 1 s.
    public var reconnectInitialBackoff: Duration
    /// Longest wait between reconnect attempts. Default 30 s.
    public var reconnectMaxBackoff: Duration
    /// Longest wait for the TCP connection and the WebSocket upgrade of one dial. Default 10 s.
    public var connectTimeout: Duration
    /// How often each connection's heartbeat and silence clock advance (see `MuxLimits.pingInterval` and
    /// `silenceTimeout`). Default 1 s.
    public var tickInterval: Duration
    /// Whether segment and space reads interrupted by a lost connection reopen on the next connection after the
    /// last entry they delivered, so the application sees every entry once, in order. When false, such a read
    /// fails with the retryable `storeUnavailable`. Default true.
    public var resumeReads: Bool
    /// Whether an HTTP 401 answer to the upgrade is retried like an unreachable server (as `storeUnavailable`,
    /// calling the token provider again on the next dial). When false (the default) it fails with
    /// `unauthorized`, which is not retried, and background reconnection stops until the next call.
    public var retryAuthFailures: Bool

    /// Creates settings for a server URL; the other settings keep their defaults.
    ///
    /// - Parameters:
    ///   - url: `ws://host[:port][/path]`.
    ///   - token: The bearer token provider, called on every dial; nil (the default) sends no token.
    public init(url: String, token: @escaping @Sendable () async throws -> String? = { nil }) {
        self.url = url
        self.token = token
        tls = ClientTLS()
        limits = MuxLimits()
        reconnectInitialBackoff = .seconds(1)
        reconnectMaxBackoff = .seconds(30)
        connectTimeout = .seconds(10)
        tickInterval = .seconds(1)
        resumeReads = true
        retryAuthFailures = false
    }
}
