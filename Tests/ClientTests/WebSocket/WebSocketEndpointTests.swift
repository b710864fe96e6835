import Foundation
import Logging
import Testing

@testable import StreamKitClient

/// Parsing `ws://` URLs: what the upgrade request asks for.
struct WebSocketEndpointTests {
    @Test(arguments: [
        ("ws://h:7447", "/streamkit"),
        ("ws://h:7447/", "/streamkit"),
        ("ws://h:7447?x=1", "/streamkit?x=1"),
        ("ws://h:7447/?x=1", "/streamkit?x=1"),
        ("ws://h:7447/#top", "/streamkit"),
        ("ws://h:7447/custom", "/custom"),
        ("ws://h:7447/custom/", "/custom/"),
        ("ws://h:7447//", "//"),
    ])
    func anEmptyPathOrTheRootAsksForTheDefaultPath(_ url: String, _ target: String) throws {
        let endpoint = try WebSocketEndpoint(parsing: url)
        #expect(endpoint.target == target)
        #expect(endpoint.host == "h" && endpoint.port == 7447 && endpoint.hostHeader == "h:7447")
    }

    @Test(arguments: [
        ("wss://h", "h", 443, true, false), ("wss://h:8443/x", "h", 8443, true, false),
        ("ws://h", "h", 80, false, false),
        ("WSS://127.0.0.1:9", "127.0.0.1", 9, true, true), ("wss://[::1]:9", "::1", 9, true, true),
    ])
    func wssSelectsTLSAndPort443ByDefault(
        _ url: String, _ host: String, _ port: Int, _ secure: Bool, _ address: Bool
    ) throws {
        let endpoint = try WebSocketEndpoint(parsing: url)
        #expect(endpoint.host == host && endpoint.port == port)
        #expect(endpoint.isSecure == secure)
        #expect(endpoint.hostIsAddress == address)
    }

    @Test func anotherSchemeIsRefused() {
        #expect(throws: StreamKitError.self) { try WebSocketEndpoint(parsing: "http://h/streamkit") }
    }

    @Test func aURLWithATrailingSlashReachesTheServer() async throws {
        let h = try await webSocketHarness()
        let port = try #require(h.server).port
        var configuration = ClientConfiguration(retryPolicy: .none)
        configuration.logger.logLevel = .critical
        let client = StreamKitClient(
            transport: .webSocket(url: "ws://127.0.0.1:\(port)/") { nil }, configuration: configuration)
        try await client.publish(store: h.storeID, space: "s", segment: "g", payload: [1])
        #expect(try await client.peek(store: h.storeID, space: "s", segment: "g")?.sequence == 1)
        await client.close()
        await h.tearDown()
    }
}
