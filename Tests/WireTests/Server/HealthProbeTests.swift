import Logging
import NIOCore
import NIOEmbedded
import NIOHTTP1
import StreamKitEngine
import Testing

@testable import StreamKitWire

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// `GET /health/live` and `GET /health/ready`: answered without a token, before any upgrade check; ready says 503
/// when the server is not running (starting, or shutting down).
struct HealthProbeTests {
    private static let secret = Array("a secret of at least thirty-two bytes!".utf8)

    private static func probe(_ port: Int, _ request: String) async throws -> (Int?, String) {
        let connection = try await RawConnection.open(port: port)
        try await connection.send(request)
        #expect(await connection.waitForResponseHead())
        #expect(await connection.waitUntilClosed())
        let answer = (connection.status, connection.text)
        await connection.close()
        return answer
    }

    @Test("a running server answers both probes with 200 without a token; other health paths are 404")
    func aRunningServerIsLiveAndReady() async throws {
        try await withTestServer(.init(authentication: .hmac(secret: Self.secret), port: 0)) { port, _ in
            let live = try await Self.probe(port, "GET /health/live HTTP/1.1\r\nHost: x\r\n\r\n")
            let ready = try await Self.probe(port, "GET /health/ready?verbose=1 HTTP/1.1\r\nHost: x\r\n\r\n")
            let other = try await Self.probe(port, "GET /health/other HTTP/1.1\r\nHost: x\r\n\r\n")
            let noMetrics = try await Self.probe(port, "GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n")

            #expect(live.0 == 200 && live.1.hasSuffix("live\n"))
            #expect(ready.0 == 200 && ready.1.hasSuffix("ready\n"))
            #expect(other.0 == 404)
            #expect(noMetrics.0 == 404)  // No exporter configured.
        }
    }

    @Test("with a metrics exporter, GET /metrics answers its exposition as Prometheus text, without a token")
    func metricsAreServedFromTheExporter() async throws {
        var configuration = StreamKitServer.Configuration(authentication: .hmac(secret: Self.secret), port: 0)
        configuration.metricsExporter = { Array("# TYPE demo_total counter\ndemo_total 7\n".utf8) }
        try await withTestServer(configuration) { port, _ in
            let (status, text) = try await Self.probe(port, "GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n")

            #expect(status == 200)
            #expect(text.contains("text/plain; version=0.0.4"))
            #expect(text.hasSuffix("demo_total 7\n"))
        }
    }

    @Test("the readiness probe answers 503 when the server is not running, the liveness probe still 200")
    func readinessFollowsTheServersState() throws {
        let channel = EmbeddedChannel()
        try channel.pipeline.syncOperations.addHandler(
            UpgradeValidator(path: "/streamkit", logger: Logger(label: "test"), isReady: { false }))

        let ready = try Self.answer(channel, "/health/ready")
        let server = StreamKitServer(
            registry: StoreRegistry(root: "/nonexistent-health-tests"),
            configuration: .init(authentication: .none, port: 0))

        #expect(ready == .serviceUnavailable)
        #expect(!server.isReady)  // Not started: not ready.
    }

    private static func answer(_ channel: EmbeddedChannel, _ path: String) throws -> HTTPResponseStatus? {
        let head = HTTPRequestHead(version: .http1_1, method: .GET, uri: path, headers: ["Host": "x"])
        try channel.writeInbound(HTTPServerRequestPart.head(head))
        try channel.writeInbound(HTTPServerRequestPart.end(nil))
        guard case .head(let response)? = try channel.readOutbound(as: HTTPServerResponsePart.self) else { return nil }
        return response.status
    }
}
