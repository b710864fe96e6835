import Foundation
import StreamKitTestSupport
import StreamKitWire
import Testing

@testable import StreamKitClient

/// Tokens over the WebSocket transport: asked for on every dial, a refused one is a permanent `unauthorized`
/// (unless told to retry), a store the token does not grant is `forbidden`.
struct AuthenticationTests {
    private static let secret = Array("a secret of at least thirty-two bytes!".utf8)

    /// A harness whose server checks HMAC tokens.
    private func securedHarness(
        tokens: TokenProvider, retryPolicy: RetryPolicy = .none, options: (inout WebSocketOptions) -> Void = { _ in }
    ) async throws -> ClientHarness {
        try await webSocketHarness(retryPolicy: retryPolicy, authentication: .hmac(secret: Self.secret)) { settings in
            settings.token = tokens.provider
            options(&settings)
        }
    }

    private static func token(_ scope: StoreScope = .all) -> String {
        (try? StreamKitToken.hmac(secret: secret, stores: scope)) ?? ""
    }

    @Test func aRefusedTokenIsAPermanentUnauthorized() async throws {
        let tokens = TokenProvider { _ in "not-a-jwt" }
        let h = try await securedHarness(tokens: tokens, retryPolicy: .default)
        do {
            try await h.client.publish(store: h.storeID, space: "s", segment: "g", payload: [])
            Issue.record("expected unauthorized")
        } catch let error as StreamKitError {
            #expect(error.code == .unauthorized)
            #expect(!error.isRetryable)
        }
        #expect(tokens.count == 1)  // Not retried, even under the default policy.
        await h.tearDown()
    }

    @Test func aMissingTokenIsUnauthorizedToo() async throws {
        let tokens = TokenProvider { _ in nil }
        let h = try await securedHarness(tokens: tokens)
        #expect(await errorCode { _ = try await h.client.spaces(store: h.storeID) } == .unauthorized)
        await h.tearDown()
    }

    @Test func retryAuthFailuresAsksForAFreshTokenOnEachAttempt() async throws {
        let good = Self.token()
        let tokens = TokenProvider { call in call < 3 ? "stale" : good }
        let policy = RetryPolicy(
            maxAttempts: 5, initialBackoff: .milliseconds(1), maxBackoff: .milliseconds(5), multiplier: 2)
        let h = try await securedHarness(tokens: tokens, retryPolicy: policy) { $0.retryAuthFailures = true }
        try await h.client.publish(store: h.storeID, space: "s", segment: "g", payload: [1])
        #expect(tokens.count == 3)
        await h.tearDown()
    }

    @Test func theTokenProviderIsCalledOnEveryDial() async throws {
        let tokens = TokenProvider { _ in Self.token() }
        let h = try await securedHarness(tokens: tokens)
        try await h.client.publish(store: h.storeID, space: "s", segment: "g", payload: [1])
        try await h.client.publish(store: h.storeID, space: "s", segment: "g", payload: [2])
        #expect(tokens.count == 1)  // One connection for both calls.
        let server = try #require(h.server)
        let connections = try #require(h.connections)
        for round in 1...2 {
            let before = tokens.count
            try await server.restart()
            await eventually("reconnected \(round)") {
                guard tokens.count > before else { return false }
                return await h.isConnected()
            }
            try await h.client.publish(store: h.storeID, space: "s", segment: "g", payload: [UInt8(round + 2)])
        }
        // One call per dial, failed ones (while the server restarted) included.
        #expect(tokens.count == (await connections.dialCount))
        #expect(try await h.client.peek(store: h.storeID, space: "s", segment: "g")?.sequence == 4)
        await h.tearDown()
    }

    @Test func aStoreTheTokenDoesNotGrantIsForbidden() async throws {
        let tokens = TokenProvider { _ in Self.token(.stores([UUID()])) }
        let h = try await securedHarness(tokens: tokens)
        do {
            _ = try await h.client.peek(store: h.storeID, space: "s", segment: "g")
            Issue.record("expected forbidden")
        } catch let error as StreamKitError {
            #expect(error.code == .forbidden)
            #expect(!error.isRetryable)
        }
        await h.tearDown()
    }

    @Test func deletingNeedsATokenThatGrantsDeletionOfTheStore() async throws {
        let mayDelete = Box(false)
        let tokens = TokenProvider { _ in
            (try? StreamKitToken.hmac(secret: Self.secret, stores: .all, mayDelete: mayDelete.get)) ?? ""
        }
        let h = try await securedHarness(tokens: tokens, retryPolicy: .default)
        try await h.client.produce(store: h.storeID, space: "s", segment: "g", records: records(1...3))

        let refused = await errorCode {
            _ = try await h.client.deleteSegment(store: h.storeID, space: "s", segment: "g")
        }
        let kept = try await collect(h.client.consumeSegment(store: h.storeID, space: "s", segment: "g"))
        mayDelete.update { $0 = true }
        try await h.server?.restart()  // The next dial asks for a token again.
        let deleted = try await h.client.deleteSegment(store: h.storeID, space: "s", segment: "g")
        let left = try await collect(h.client.consumeSegment(store: h.storeID, space: "s", segment: "g"))
        await h.tearDown()

        #expect(refused == .forbidden)
        #expect(kept.count == 3)
        #expect(deleted == 3)
        #expect(left.isEmpty)
    }

    @Test func settingARetentionPolicyNeedsTheDeletionGrantAndReadingItDoesNot() async throws {
        let tokens = TokenProvider { _ in Self.token(.all) }
        let h = try await securedHarness(tokens: tokens, retryPolicy: .default)
        try await h.client.publish(store: h.storeID, space: "s", segment: "g", payload: [1])

        let read = try await h.client.retention(store: h.storeID)
        let refused = await errorCode {
            try await h.client.setRetentionPolicy(store: h.storeID, LogRetention.Policy(maxEntriesPerSegment: 1))
        }
        let after = try await h.client.retention(store: h.storeID)
        await h.tearDown()

        #expect(read.own == nil)
        #expect(refused == .forbidden)
        #expect(after.own == nil)
    }

    @Test func subscribingToAStoreTheTokenDoesNotGrantThrowsForbiddenAndStartsNothing() async throws {
        let tokens = TokenProvider { _ in Self.token(.stores([UUID()])) }
        let h = try await securedHarness(tokens: tokens, retryPolicy: .default)
        let called = Box(false)
        do {
            let subscription = try await h.client.subscribe(store: h.storeID, space: "s") { _ in
                called.update { $0 = true }
            }
            Issue.record("expected forbidden, got a subscription in state \(subscription.status().state)")
            await subscription.cancel()
        } catch let error as StreamKitError {
            #expect(error.code == .forbidden)
            #expect(error.storeID == h.storeID)
        }
        #expect(h.client.backgroundTaskCount == 0)  // No dispatcher was started.
        #expect(await h.openStreams() == 0)
        #expect(!called.get)
        await h.tearDown()
    }

    @Test func aSubscriptionToAGrantedStoreWithNothingToSnapshotStartsAndDelivers() async throws {
        let store = UUID()
        let h = try await securedHarness(tokens: TokenProvider { _ in Self.token(.stores([store])) })
        let seen = Box<[String]>([])
        let subscription = try await h.client.subscribe(store: store, space: "empty") { status in
            seen.update { $0.append(status.segment) }
        }
        try await h.client.publish(store: store, space: "empty", segment: "g", payload: [1])
        await eventually("the first status") { seen.get == ["g"] }
        #expect(subscription.status().state == .active)
        await h.tearDown()
    }

    @Test func aTokenProviderErrorFailsTheDial() async throws {
        struct Offline: Error {}
        let tokens = TokenProvider { _ in throw Offline() }
        let h = try await securedHarness(tokens: tokens)
        let error = await #expect(throws: StreamKitError.self) {
            try await h.client.publish(store: h.storeID, space: "s", segment: "g", payload: [])
        }
        #expect(error?.code == .storeUnavailable)
        #expect(error?.message.contains("Offline") == true)
        await h.tearDown()
    }
}
