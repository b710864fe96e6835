import StreamKitEngine
import StreamKitWire
import Testing

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// Connections that do not complete their upgrade in time are closed, and the number of open connections is
/// capped with a clear refusal (HTTP 503), over raw TCP.
@Suite(.timeLimit(.minutes(2)))
struct ConnectionAdmissionTests {
    private static let handshake =
        "GET /streamkit HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        + "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"

    /// Settings with a short upgrade timeout; the tests wait for outcomes, never for this time.
    private static func configuration(
        upgradeTimeout: Duration = .milliseconds(200), maxConnections: Int = 512
    )
        -> StreamKitServer.Configuration
    {
        .init(authentication: .none, port: 0, upgradeTimeout: upgradeTimeout, maxConnections: maxConnections)
    }

    /// A raw connection that completed the upgrade (101 received).
    private func upgraded(port: Int) async throws -> RawConnection {
        let connection = try await RawConnection.open(port: port)
        try await connection.send(Self.handshake)
        #expect(await connection.waitForResponseHead())
        try #require(connection.status == 101, "upgrade answered \(connection.text)")
        return connection
    }

    @Test("a connection that sends nothing is closed after the upgrade timeout, without an answer")
    func idleConnectionIsClosed() async throws {
        try await withTestServer(Self.configuration()) { port, _ in
            let connection = try await RawConnection.open(port: port)

            let closed = await connection.waitUntilClosed()

            #expect(closed)
            #expect(connection.text.isEmpty)
        }
    }

    @Test("a connection that stops in the middle of its request head is closed after the upgrade timeout")
    func partialHeadIsClosed() async throws {
        try await withTestServer(Self.configuration()) { port, _ in
            let connection = try await RawConnection.open(port: port)
            // Fails if a loaded machine let the timeout pass first: the connection is closed either way.
            try? await connection.send("GET /streamkit HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: webs")

            let closed = await connection.waitUntilClosed()

            #expect(closed)
            #expect(connection.text.isEmpty)
        }
    }

    @Test("a client that keeps trickling header lines is closed all the same: the time counts from the accept")
    func tricklingClientIsClosed() async throws {
        try await withTestServer(Self.configuration()) { port, _ in
            let connection = try await RawConnection.open(port: port)
            try? await connection.send("GET /streamkit HTTP/1.1\r\nHost: 127.0.0.1\r\n")  // As above.
            let deadline = ContinuousClock.now + .seconds(30)  // Only reached when the server never closes.

            var line = 0
            while !connection.isClosed, ContinuousClock.now < deadline {
                line += 1
                try? await connection.send("X-Slow-\(line): x\r\n")  // Fails once the server has closed.
                _ = await connection.waitUntilClosed(timeout: .milliseconds(20))
            }

            #expect(connection.isClosed)
        }
    }

    @Test(
        "a request the HTTP parser rejects is answered 400 and closed at once, not left open until the upgrade timeout",
        arguments: [
            "GARBAGE\r\n\r\n", "GET /streamkit HTTP/9.9\r\n\r\n", "\u{01}\u{02}\u{03}\r\n\r\n",
            "GET /streamkit HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n",
        ])
    func unparsableRequestIsClosedAtOnce(request: String) async throws {
        // An upgrade timeout far beyond the suite's time limit: only an immediate close passes.
        try await withTestServer(Self.configuration(upgradeTimeout: .seconds(3600))) { port, _ in
            let connection = try await RawConnection.open(port: port)
            try? await connection.send(request)

            let closed = await connection.waitUntilClosed(timeout: .seconds(60))

            #expect(closed)
            #expect(connection.status == 400, "\(connection.text)")
        }
    }

    @Test("a completed upgrade is not closed by the upgrade timeout")
    func upgradedConnectionOutlivesTheTimeout() async throws {
        let store = UUID()
        try await withTestServer(Self.configuration(upgradeTimeout: .milliseconds(500))) { port, _ in
            // On a loaded machine the timeout may beat an upgrade: try again until one completes in time.
            let deadline = ContinuousClock.now + .seconds(30)
            var served = false
            while !served, ContinuousClock.now < deadline {
                do {
                    try await withTestClient(port: port) { client in
                        // Accepted after the upgrade completed, so its timer runs out after the upgraded one's
                        // would have.
                        let later = try await RawConnection.open(port: port)
                        #expect(await later.waitUntilClosed())

                        let answer = try await client.call(store, .getStatus(space: "s", segment: "g"))

                        #expect(answer == [.empty])
                        served = true
                    }
                } catch TestClientError.notUpgraded, TestClientError.noResponse {
                    continue
                }
            }
            #expect(served)
        }
    }

    @Test("a shutdown closes connections still before their upgrade instead of waiting for the upgrade timeout")
    func shutdownClosesConnectionsBeforeTheirUpgrade() async throws {
        var registryConfiguration = RegistryConfiguration()
        registryConfiguration.inMemory = true
        let registry = StoreRegistry(root: "/nonexistent-streamkit-server-tests", configuration: registryConfiguration)
        let server = StreamKitServer(
            registry: registry, configuration: Self.configuration(upgradeTimeout: .seconds(3600)))
        let port = try await server.start()
        let idle = try await RawConnection.open(port: port)
        let partial = try await RawConnection.open(port: port)
        try await partial.send("GET /streamkit HTTP/1.1\r\n")

        let deadline = ContinuousClock.now + .seconds(30)  // Only reached when the server never accepts them.
        while server.openConnectionCount < 2, ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(1))
        }
        #expect(server.openConnectionCount == 2)

        await server.shutdown()  // Would wait for the hour-long upgrade timeout (past the suite's time limit).

        #expect(await idle.waitUntilClosed())
        #expect(await partial.waitUntilClosed())
        await registry.shutdown()
    }

    @Test("connection N+1 is refused with 503 and Retry-After while N are open, and accepted once one closes")
    func connectionsAreCapped() async throws {
        try await withTestServer(Self.configuration(upgradeTimeout: .seconds(30), maxConnections: 2)) { port, server in
            let first = try await upgraded(port: port)
            let second = try await upgraded(port: port)

            let refused = try await RawConnection.open(port: port)
            try? await refused.send(Self.handshake)
            #expect(await refused.waitUntilClosed())

            #expect(refused.status == 503)
            #expect(refused.header("Retry-After") == "1")
            #expect(server.openConnectionCount == 2)

            await first.close()
            let deadline = ContinuousClock.now + .seconds(30)  // The server sees the close a little later.
            var accepted: RawConnection?
            while accepted == nil, ContinuousClock.now < deadline {
                let attempt = try await RawConnection.open(port: port)
                try? await attempt.send(Self.handshake)
                #expect(await attempt.waitForResponseHead())
                if attempt.status == 101 {
                    accepted = attempt
                } else {
                    #expect(attempt.status == 503)
                    await attempt.close()
                }
            }

            #expect(accepted != nil)
            await accepted?.close()
            await second.close()
        }
    }
}
