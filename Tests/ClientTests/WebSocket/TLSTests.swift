import Foundation
import Logging
import StreamKitTestSupport
import StreamKitWire
import Testing

@testable import StreamKitClient

/// `wss://`: the server with a certificate made at test time by a test CA, and clients that trust that CA, trust
/// another one, or do not speak TLS.
@Suite(.timeLimit(.minutes(1)))
struct TLSTests {
    /// A TLS server on a free port of 127.0.0.1, over an in-memory registry.
    private struct TLSServer {
        let server: StreamKitServer
        let port: Int
        let certificates: TestCertificates

        static func start() async throws -> TLSServer {
            let certificates = try TestCertificates.make()
            var registryConfiguration = RegistryConfiguration()
            registryConfiguration.inMemory = true
            registryConfiguration.store.logger.logLevel = .critical
            var configuration = StreamKitServer.Configuration(authentication: .none, port: 0)
            configuration.logger.logLevel = .critical
            configuration.tls = ServerTLS(
                certificateChainPath: certificates.serverCertificatePath, privateKeyPath: certificates.serverKeyPath)
            let server = StreamKitServer(
                registry: StoreRegistry(root: "", configuration: registryConfiguration), configuration: configuration)
            let port = try await server.start()
            return TLSServer(server: server, port: port, certificates: certificates)
        }

        func client(_ url: String, trusting ca: String?) -> StreamKitClient {
            var options = WebSocketOptions(url: url)
            options.tls = ClientTLS(trustRootsPath: ca)
            options.connectTimeout = .seconds(60)
            var configuration = ClientConfiguration(retryPolicy: .none)
            configuration.logger.logLevel = .critical
            return StreamKitClient(transport: .webSocket(options), configuration: configuration)
        }

        func stop() async {
            await server.shutdown()
            await server.registry.shutdown()
            certificates.remove()
        }
    }

    @Test(arguments: ["127.0.0.1", "localhost"])
    func aClientTrustingTheCAPublishesAndReadsOverWss(host: String) async throws {
        let tls = try await TLSServer.start()
        let client = tls.client("wss://\(host):\(tls.port)/streamkit", trusting: tls.certificates.caPath)
        let store = UUID()

        try await client.publish(store: store, space: "s", segment: "g", payload: Array("over tls".utf8))
        let entry = try await client.peek(store: store, space: "s", segment: "g")

        #expect(entry?.payload.bytes == Array("over tls".utf8))
        await client.close()
        await tls.stop()
    }

    @Test func aClientThatDoesNotTrustTheServersCAIsRefusedWithUnauthorized() async throws {
        let tls = try await TLSServer.start()
        let client = tls.client("wss://127.0.0.1:\(tls.port)/streamkit", trusting: tls.certificates.otherCAPath)

        let error = await #expect(throws: StreamKitError.self) { _ = try await client.spaces(store: UUID()) }

        #expect(error?.code == .unauthorized)
        #expect(error?.message.contains("TLS handshake") == true)
        await client.close()
        await tls.stop()
    }

    @Test func aPlaintextClientToATLSPortFailsCleanlyAndTheServerGoesOn() async throws {
        let tls = try await TLSServer.start()
        let plain = tls.client("ws://127.0.0.1:\(tls.port)/streamkit", trusting: nil)

        let error = await #expect(throws: StreamKitError.self) { _ = try await plain.spaces(store: UUID()) }

        #expect(error?.code == .storeUnavailable)
        await plain.close()
        let trusting = tls.client("wss://127.0.0.1:\(tls.port)/streamkit", trusting: tls.certificates.caPath)
        #expect(try await trusting.spaces(store: UUID()).isEmpty)
        await trusting.close()
        await tls.stop()
    }

    @Test func aTLSClientToAPlaintextPortIsRefusedWithUnauthorized() async throws {
        let certificates = try TestCertificates.make()
        defer { certificates.remove() }
        let h = try await webSocketHarness()
        let port = try #require(h.server).port
        var options = WebSocketOptions(url: "wss://127.0.0.1:\(port)/streamkit")
        options.tls = ClientTLS(trustRootsPath: certificates.caPath)
        let client = StreamKitClient(
            transport: .webSocket(options), configuration: ClientConfiguration(retryPolicy: .none))

        let error = await #expect(throws: StreamKitError.self) { _ = try await client.spaces(store: h.storeID) }

        #expect(error?.code == .unauthorized)
        await client.close()
        await h.tearDown()
    }

    @Test func aServerWhoseKeyCannotBeReadDoesNotStart() async throws {
        let certificates = try TestCertificates.make()
        defer { certificates.remove() }
        var configuration = StreamKitServer.Configuration(authentication: .none, port: 0)
        configuration.tls = ServerTLS(
            certificateChainPath: certificates.serverCertificatePath,
            privateKeyPath: certificates.directory + "/missing.pem")
        var registryConfiguration = RegistryConfiguration()
        registryConfiguration.inMemory = true
        let server = StreamKitServer(
            registry: StoreRegistry(root: "", configuration: registryConfiguration), configuration: configuration)

        let error = await #expect(throws: StreamKitError.self) { _ = try await server.start() }

        #expect(error?.code == .invalidArgument)
        #expect(error?.message.contains("missing.pem") == true)
        await server.shutdown()
    }
}
