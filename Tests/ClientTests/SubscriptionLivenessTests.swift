import Foundation
import StreamKitTestSupport
import StreamKitWire
import Testing

@testable import StreamKitClient

/// Subscription liveness: heartbeats asked for and counted (never handed to the handler), a subscription that hears
/// nothing within its silence bound turns `silent` and back, and a failed subscription can be restarted.
struct SubscriptionLivenessTests {
    private static let second: UInt64 = 1_000_000_000

    @Test(arguments: TransportKind.allCases)
    func heartbeatsKeepAQuietSubscriptionActiveAndNeverReachTheHandler(_ kind: TransportKind) async throws {
        let h = try await ClientHarness.make(kind)
        let handled = Box(0)
        let subscription = try await h.client.subscribe(
            store: h.storeID, space: "s", segment: "g", heartbeat: .seconds(1), silenceBound: .seconds(5)
        ) { _ in handled.update { $0 += 1 } }

        // The store sends a heartbeat after a second without a status (every one or two seconds when quiet; over
        // WebSocket the manual clock can outrun a send by a tick or two): 12 s of quiet, well past the 5 s bound.
        for step in 1...12 {
            await eventually("heartbeat timer and watchdog asleep at step \(step)") { h.clock.sleeperCount == 2 }
            h.clock.advance(by: Self.second)
            // At least one heartbeat per two seconds of quiet; wait for it before the clock moves on (over WebSocket
            // it travels a socket, slower than the manual clock).
            await eventually("heartbeats by step \(step)") { subscription.status().heartbeatCount >= step / 2 }
        }
        let status = subscription.status()
        await h.tearDown()

        #expect(status.state == .active)
        #expect(status.heartbeatCount >= 6)
        #expect(status.silenceCount == 0)
        #expect(handled.get == 0)
        #expect(status.deliveredCount == 0)
    }

    @Test(arguments: TransportKind.allCases)
    func aSubscriptionThatHearsNothingWithinItsBoundTurnsSilentUntilAStatusArrives(_ kind: TransportKind) async throws {
        let h = try await ClientHarness.make(kind)
        let subscription = try await h.client.subscribe(
            store: h.storeID, space: "s", segment: "g", silenceBound: .seconds(3)
        ) { _ in }
        await eventually("watchdog asleep") { h.clock.sleeperCount == 1 }

        h.clock.advance(by: 3 * Self.second)
        await eventually("silent") { subscription.status().state == .silent }
        let silent = subscription.status()
        try await h.client.publish(store: h.storeID, space: "s", segment: "g", payload: [1])
        await eventually("active again") {
            subscription.status().state == .active && subscription.status().deliveredCount == 1
        }
        let resumed = subscription.status()
        await h.tearDown()

        #expect(silent.silenceCount == 1)
        #expect(silent.lastError?.contains("no status or heartbeat") == true)
        #expect(resumed.silenceCount == 1)
    }

    @Test func badLivenessSettingsAreRefused() async throws {
        let h = try await ClientHarness.make(.inProcess)
        let zero = await errorCode {
            _ = try await h.client.subscribe(store: h.storeID, space: "s", heartbeat: .zero) { _ in }
        }
        let long = await errorCode {
            _ = try await h.client.subscribe(store: h.storeID, space: "s", heartbeat: .seconds(301)) { _ in }
        }
        let bound = await errorCode {
            _ = try await h.client.subscribe(store: h.storeID, space: "s", silenceBound: .zero) { _ in }
        }
        await h.tearDown()

        #expect(zero == .invalidArgument)
        #expect(long == .invalidArgument)
        #expect(bound == .invalidArgument)
    }

    @Test func aSubscriptionFailedByARefusedTokenRestartsOnceTheTokenIsGoodAgain() async throws {
        let secret = Array("a secret of at least thirty-two bytes!".utf8)
        let good = try StreamKitToken.hmac(secret: secret, stores: .all)
        let refusing = Box(false)
        let tokens = TokenProvider { _ in refusing.get ? "expired" : good }
        let h = try await webSocketHarness(authentication: .hmac(secret: secret)) { $0.token = tokens.provider }
        let seen = Box<[UInt64]>([])
        let subscription = try await h.client.subscribe(store: h.storeID, space: "s", segment: "g") { status in
            seen.update { $0.append(status.lastSequence) }
        }
        try await h.client.publish(store: h.storeID, space: "s", segment: "g", payload: [1])
        await eventually("first status") { seen.get.contains(1) }

        refusing.update { $0 = true }
        try await h.server?.restart()  // The reconnect's token is refused: a permanent failure.
        await eventually("failed") { subscription.status().state == .failed }
        let failedWhileRefused = await errorCode { try await subscription.restart() }
        refusing.update { $0 = false }
        try await subscription.restart()
        try await h.client.publish(store: h.storeID, space: "s", segment: "g", payload: [2])
        await eventually("status after the restart") { seen.get.contains(2) }
        let status = subscription.status()
        await subscription.cancel()
        let cancelled = await errorCode { try await subscription.restart() }
        await h.tearDown()

        #expect(failedWhileRefused == .unauthorized)
        #expect(status.state == .active)
        #expect(status.restartCount == 1)
        #expect(cancelled == .invalidArgument)
    }
}
