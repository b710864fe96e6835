import Logging
import NIOCore
import NIOEmbedded
import NIOHTTP1
import StreamKitEngine
import StreamKitTestSupport
import Synchronization
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

    @Test(
        "the readiness probe answers 503 with the reason while the registry's backend does not answer, 200 once it does"
    )
    func readinessAsksTheBackend() async throws {
        let answers = Atomic<Bool>(false)
        let clock = ManualClock()
        var registryConfiguration = RegistryConfiguration()
        registryConfiguration.inMemory = true
        registryConfiguration.store.clock = clock.engineClock
        registryConfiguration.readinessCheck = {
            guard answers.load(ordering: .relaxed) else {
                throw StreamKitError(code: .storeUnavailable, message: "the database does not answer")
            }
        }
        let registry = StoreRegistry(root: "/nonexistent-health-tests", configuration: registryConfiguration)
        try await withTestServer(.init(authentication: .none, port: 0), registry: registry) { port, _ in
            let down = try await Self.probe(port, "GET /health/ready HTTP/1.1\r\nHost: x\r\n\r\n")
            let live = try await Self.probe(port, "GET /health/live HTTP/1.1\r\nHost: x\r\n\r\n")
            answers.store(true, ordering: .relaxed)
            clock.advance(by: StreamKitServer.readinessReuse)  // The last answer is reused for a second.
            let up = try await Self.probe(port, "GET /health/ready HTTP/1.1\r\nHost: x\r\n\r\n")

            #expect(down.0 == 503 && down.1.hasSuffix("not ready: storeUnavailable: the database does not answer\n"))
            #expect(live.0 == 200)  // Alive all along: only readiness depends on the backend.
            #expect(up.0 == 200 && up.1.hasSuffix("ready\n"))
        }
    }

    @Test("probes within a second share one backend check: a flood of unauthenticated probes cannot take the pool")
    func readinessChecksAreSharedForASecond() async throws {
        let checks = Atomic<Int>(0)
        let clock = ManualClock()
        var registryConfiguration = RegistryConfiguration()
        registryConfiguration.inMemory = true
        registryConfiguration.store.clock = clock.engineClock
        registryConfiguration.readinessCheck = { checks.add(1, ordering: .relaxed) }
        let registry = StoreRegistry(root: "/nonexistent-health-tests", configuration: registryConfiguration)
        try await withTestServer(.init(authentication: .none, port: 0), registry: registry) { port, server in
            let first = await server.readiness()
            let probed = try await Self.probe(port, "GET /health/ready HTTP/1.1\r\nHost: x\r\n\r\n")
            let again = await server.readiness()
            let withinTheSecond = checks.load(ordering: .relaxed)
            clock.advance(by: StreamKitServer.readinessReuse)
            let later = await server.readiness()

            #expect(first == nil && again == nil && later == nil)
            #expect(probed.0 == 200)
            #expect(withinTheSecond == 1)
            #expect(checks.load(ordering: .relaxed) == 2)
        }
    }

    @Test(
        "the readiness probe answers 503 once the registry shuts down, while the server still listens; not ready before start"
    )
    func readinessFollowsTheLifecycle() async throws {
        let unstarted = StreamKitServer(
            registry: StoreRegistry(root: "/nonexistent-health-tests"),
            configuration: .init(authentication: .none, port: 0))
        let beforeStart = await unstarted.readiness()
        try await withTestServer(.init(authentication: .none, port: 0)) { port, server in
            await server.registry.shutdown()
            let (status, text) = try await Self.probe(port, "GET /health/ready HTTP/1.1\r\nHost: x\r\n\r\n")

            #expect(status == 503 && text.contains("not ready: storeClosing"))
        }

        #expect(beforeStart == "the server is not running")
    }

    @Test("the readiness probe's answer waits for the request's end, like every other answer before an upgrade")
    func readinessIsAnsweredAtTheRequestsEnd() throws {
        let channel = EmbeddedChannel()
        try channel.pipeline.syncOperations.addHandler(
            UpgradeValidator(path: "/streamkit", logger: Logger(label: "test"), readiness: { nil }))
        let head = HTTPRequestHead(version: .http1_1, method: .GET, uri: "/health/ready", headers: ["Host": "x"])

        try channel.writeInbound(HTTPServerRequestPart.head(head))
        let beforeEnd = try channel.readOutbound(as: HTTPServerResponsePart.self)

        #expect(beforeEnd == nil)
    }
}
