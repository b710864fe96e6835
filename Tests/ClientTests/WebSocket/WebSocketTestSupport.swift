import Foundation
import StreamKitTestSupport
import StreamKitWire
import Testing

@testable import StreamKitClient

/// A harness for the WebSocket-only tests: the client's own timers on real time (so a retry while the server
/// is briefly down needs no manual clock), fast retries and reconnects, and a small stream window so a server
/// cannot push a whole read ahead of the reader.
///
/// The default policy retries every 5–50 ms for about 50 s: the budget only runs out when a test is failing, never
/// because a loaded machine was slow to restart a server.
func webSocketHarness(
    queueDepth: Int = 2,
    retryPolicy: RetryPolicy = RetryPolicy(
        maxAttempts: 1_000, initialBackoff: .milliseconds(5), maxBackoff: .milliseconds(50), multiplier: 2),
    authentication: ServerAuthentication = .none,
    options: (inout WebSocketOptions) -> Void = { _ in }
) async throws -> ClientHarness {
    try await ClientHarness.make(
        .webSocket,
        configure: { configuration in
            configuration.clock = .system
            configuration.retryPolicy = retryPolicy
        },
        options: { settings in
            settings.limits = MuxLimits(streamQueueDepth: queueDepth)
            options(&settings)
        },
        server: .init(authentication: authentication, port: 0))
}

extension ClientHarness {
    /// The client's WebSocket connection manager.
    var connections: ConnectionManager? { (client.transport as? WebSocketTransport)?.manager }

    /// Whether the client currently has a live connection.
    func isConnected() async -> Bool { await connections?.currentConnection != nil }

    /// Streams open on the client's current connection.
    func openStreams() async -> Int { await connections?.currentConnection?.openStreamCount ?? 0 }

    /// Restarts the server and waits until the client is connected to the new one. (Right after a restart the
    /// client may not have seen its old socket close yet; a call sent on it then fails with `storeUnavailable`,
    /// as a call on a connection that drops should.)
    func restartServerAndReconnect(sourceLocation: SourceLocation = #_sourceLocation) async throws {
        let before = await connections?.currentConnection?.serial
        try await server?.restart()
        await eventually("reconnected", sourceLocation: sourceLocation) {
            guard let now = await connections?.currentConnection?.serial else { return false }
            return now != before
        }
    }
}

/// Counts calls of a token provider and hands out the token `make` builds.
final class TokenProvider: Sendable {
    private let calls = Box(0)
    private let make: @Sendable (Int) throws -> String?

    init(_ make: @escaping @Sendable (Int) throws -> String? = { _ in nil }) {
        self.make = make
    }

    /// Calls so far.
    var count: Int { calls.get }

    /// The provider to put into ``WebSocketOptions/token``.
    var provider: @Sendable () async throws -> String? {
        { [self] in
            let call = calls.update { count -> Int in
                count += 1
                return count
            }
            return try make(call)
        }
    }
}
