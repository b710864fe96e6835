import JWTKit
import NIOHTTP1
import StreamKitEngine
import StreamKitWire
import Testing

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// JWT authentication at the WebSocket upgrade and store scopes per stream, over loopback.
@Suite(.timeLimit(.minutes(1)))
struct ServerAuthenticationTests {
    private let hmac = StreamKitServer.Configuration(authentication: .hmac(secret: TestTokens.secret), port: 0)

    /// A publish on `store`: its status answer, or the stream's error.
    private func publish(_ client: TestMuxClient, on store: UUID) async throws -> [WireMessage] {
        try await client.call(store, .publish(space: "s", segment: "a", payload: [1], metadata: [:]))
    }

    private func expectUnauthorized(_ head: HTTPResponseHead, sourceLocation: SourceLocation = #_sourceLocation) {
        #expect(head.status == .unauthorized, sourceLocation: sourceLocation)
        #expect(head.headers["WWW-Authenticate"] == ["Bearer"], sourceLocation: sourceLocation)
    }

    @Test("a valid HS256 token with streamkit::* upgrades and serves every store")
    func hmacTokenForEveryStore() async throws {
        let token = try StreamKitToken.hmac(secret: TestTokens.secret, stores: .all, subject: "cli")
        try await withTestServer(hmac) { port, _ in
            let head = try await upgradeResponse(port: port, token: token)
            let answers = try await withTestClient(port: port, token: token) { client in
                (try await publish(client, on: UUID()), try await publish(client, on: UUID()))
            }

            #expect(head.status == .switchingProtocols)
            guard case .status(let first)? = answers.0.first, case .status(let second)? = answers.1.first else {
                Issue.record("expected statuses, got \(answers)")
                return
            }
            #expect(first.lastSequence == 1 && second.lastSequence == 1)
        }
    }

    @Test("a token signed with another secret is refused with 401 and WWW-Authenticate: Bearer")
    func badSignatureIsUnauthorized() async throws {
        let token = try StreamKitToken.hmac(secret: Array("another secret, 32 bytes or longer".utf8), stores: .all)
        try await withTestServer(hmac) { port, _ in
            let head = try await upgradeResponse(port: port, token: token)

            expectUnauthorized(head)
            await #expect(throws: TestClientError.notUpgraded) {
                try await withTestClient(port: port, token: token) { _ in }
            }
        }
    }

    @Test("an expired token is refused with 401")
    func expiredTokenIsUnauthorized() async throws {
        let token = try await TestTokens.hmac(TestTokens.claims(scopes: ["streamkit::*"], expiresIn: -60))
        try await withTestServer(hmac) { port, _ in
            let head = try await upgradeResponse(port: port, token: token)

            expectUnauthorized(head)
        }
    }

    @Test("a token without exp is refused with 401")
    func tokenWithoutExpirationIsUnauthorized() async throws {
        let token = try await TestTokens.hmac(TestClaims(scopes: ["streamkit::*"]))
        try await withTestServer(hmac) { port, _ in
            let head = try await upgradeResponse(port: port, token: token)

            expectUnauthorized(head)
        }
    }

    @Test(
        "an upgrade without a usable Authorization header is refused with 401",
        arguments: [
            [], [("Authorization", "Basic dXNlcjpwYXNz")], [("Authorization", "Bearer")],
            [("Authorization", "Bearer not-a-jwt")], [("Authorization", "Bearer a.b.c")],
        ] as [[(String, String)]])
    func missingOrUnusableHeaderIsUnauthorized(headers: [(String, String)]) async throws {
        try await withTestServer(hmac) { port, _ in
            let head = try await upgradeResponse(port: port, headers: headers)

            expectUnauthorized(head)
        }
    }

    @Test("two Authorization headers are refused with 401 even when the first is valid")
    func repeatedHeaderIsUnauthorized() async throws {
        let token = try StreamKitToken.hmac(secret: TestTokens.secret, stores: .all)
        try await withTestServer(hmac) { port, _ in
            let head = try await upgradeResponse(
                port: port, token: token, headers: [("Authorization", "Bearer \(token)")])

            expectUnauthorized(head)
        }
    }

    @Test(
        "a token whose only StreamKit scope is malformed, or that has none, is refused with 401",
        arguments: [
            ["streamkit::not-a-uuid"], ["streamkit::"], ["streamkit::**"], ["other::read"], [],
            ["streamkit::*", "streamkit::nope"],
        ])
    func malformedOrMissingScopeIsUnauthorized(scopes: [String]) async throws {
        let token = try await TestTokens.hmac(TestTokens.claims(scopes: scopes))
        try await withTestServer(hmac) { port, _ in
            let head = try await upgradeResponse(port: port, token: token)

            expectUnauthorized(head)
        }
    }

    @Test("a stream on a store outside the token's scopes is reset with forbidden while the others work")
    func storeOutsideScopesIsForbidden() async throws {
        let granted = UUID()
        let other = UUID()
        let token = try StreamKitToken.hmac(secret: TestTokens.secret, stores: .stores([granted]))
        try await withTestServer(hmac) { port, _ in
            try await withTestClient(port: port, token: token) { client in
                var refusal: StreamKitError?
                do {
                    _ = try await publish(client, on: other)
                } catch let error as StreamKitError {
                    refusal = error
                }
                let allowed = try await publish(client, on: granted)
                let hello = try await client.openRaw(.hello(WireHello()), store: nil, closeAfterOpen: true)
                let helloAnswers = try await client.collect(hello.id, hello.answers)

                #expect(refusal?.code == .forbidden)
                #expect(refusal?.storeID == other)
                guard case .status(let status)? = allowed.first else {
                    Issue.record("expected a status on the granted store, got \(allowed)")
                    return
                }
                #expect(status.lastSequence == 1)
                guard case .hello? = helloAnswers.first else {
                    Issue.record("a stream without a store is connection-level and allowed, got \(helloAnswers)")
                    return
                }
            }
        }
    }

    @Test("a produce upload on a store outside the scopes is refused before any record is written")
    func produceOutsideScopesIsForbidden() async throws {
        let granted = UUID()
        let other = UUID()
        let token = try await TestTokens.hmac(TestTokens.claims(scopes: ["streamkit::\(granted)"]))
        try await withTestServer(hmac) { port, _ in
            try await withTestClient(port: port, token: token) { client in
                var refusal: StreamKitError?
                do {
                    _ = try await client.produce(
                        other, space: "s", segment: "p", batches: [[Record(sequence: 1, payload: [1])]])
                } catch let error as StreamKitError {
                    refusal = error
                }

                #expect(refusal?.code == .forbidden)
            }
            let otherToken = try StreamKitToken.hmac(secret: TestTokens.secret, stores: .stores([other]))
            let status = try await withTestClient(port: port, token: otherToken) { client in
                try await client.call(other, .getStatus(space: "s", segment: "p"))
            }
            #expect(status == [.empty])
        }
    }

    @Test("an ES256 token verifies against its PEM public key, with an OAuth-style scope claim")
    func es256TokenVerifies() async throws {
        let key = ES256PrivateKey()
        let store = UUID()
        let token = try await TestTokens.es256(
            TestTokens.claims(scope: "openid streamkit::\(store.uuidString.lowercased()) profile"), key: key)
        let configuration = StreamKitServer.Configuration(
            authentication: .publicKey(pem: key.publicKey.pemRepresentation), port: 0)
        try await withTestServer(configuration) { port, _ in
            let answers = try await withTestClient(port: port, token: token) { client in
                try await publish(client, on: store)
            }

            guard case .status? = answers.first else {
                Issue.record("expected a status, got \(answers)")
                return
            }
        }
    }

    @Test("a public-key server refuses tokens of another key or algorithm with 401")
    func es256ServerRefusesOtherKeys() async throws {
        let key = ES256PrivateKey()
        let otherKeyToken = try await TestTokens.es256(
            TestTokens.claims(scopes: ["streamkit::*"]), key: ES256PrivateKey())
        let hmacToken = try await TestTokens.hmac(
            TestTokens.claims(scopes: ["streamkit::*"]), secret: Array(key.publicKey.pemRepresentation.utf8))
        let configuration = StreamKitServer.Configuration(
            authentication: .publicKey(pem: key.publicKey.pemRepresentation), port: 0)
        try await withTestServer(configuration) { port, _ in
            expectUnauthorized(try await upgradeResponse(port: port, token: otherKeyToken))
            expectUnauthorized(try await upgradeResponse(port: port, token: hmacToken))
        }
    }

    @Test("an RS256 token verifies against its PEM public key")
    func rs256TokenVerifies() async throws {
        let store = UUID()
        let token = try await TestTokens.rs256(TestTokens.claims(scopes: ["streamkit::\(store)"]))
        let configuration = StreamKitServer.Configuration(
            authentication: .publicKey(pem: TestTokens.rsaPublicKeyPEM), port: 0)
        try await withTestServer(configuration) { port, _ in
            let answers = try await withTestClient(port: port, token: token) { client in
                try await publish(client, on: store)
            }

            guard case .status? = answers.first else {
                Issue.record("expected a status, got \(answers)")
                return
            }
        }
    }

    @Test("with authentication none every caller may use every store, token or not")
    func noneLetsEverythingThrough() async throws {
        try await withTestServer(.init(authentication: .none, port: 0)) { port, _ in
            let withoutToken = try await withTestClient(port: port) { client in
                (try await publish(client, on: UUID()), try await publish(client, on: UUID()))
            }
            let withGarbage = try await withTestClient(port: port, token: "garbage") { client in
                try await publish(client, on: UUID())
            }

            #expect(withoutToken.0.count == 1 && withoutToken.1.count == 1)
            #expect(withGarbage.count == 1)
        }
    }

    @Test("other paths still answer 404 on a server with authentication")
    func otherPathsAreNotFound() async throws {
        let token = try StreamKitToken.hmac(secret: TestTokens.secret, stores: .all)
        try await withTestServer(hmac) { port, _ in
            let withToken = try await upgradeResponse(port: port, path: "/elsewhere", token: token)
            let withoutToken = try await upgradeResponse(port: port, path: "/elsewhere")

            #expect(withToken.status == .notFound)
            #expect(withoutToken.status == .notFound)
        }
    }

    @Test("start refuses an empty HMAC secret and a PEM that is no supported public key")
    func unusableSettingsFailStart() async throws {
        var registryConfiguration = RegistryConfiguration()
        registryConfiguration.inMemory = true
        let registry = StoreRegistry(root: "/nonexistent-streamkit-auth-tests", configuration: registryConfiguration)
        let settings: [ServerAuthentication] = [
            .hmac(secret: []), .publicKey(pem: "not a pem"),
            .publicKey(pem: ES384PrivateKey().publicKey.pemRepresentation),
        ]
        for authentication in settings {
            let server = StreamKitServer(
                registry: registry, configuration: .init(authentication: authentication, port: 0))

            let error = await #expect(throws: StreamKitError.self) { _ = try await server.start() }
            await server.shutdown()

            #expect(error?.code == .invalidArgument)
        }
        await registry.shutdown()
    }
}
