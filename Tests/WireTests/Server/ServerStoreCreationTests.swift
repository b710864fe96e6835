import Foundation
import Logging
import StreamKitEngine
import StreamKitWire
import Testing

/// Over the wire only writes create stores: reads, listings, peeks, status, lease and presence queries and
/// subscriptions naming a store that does not exist answer as an empty store would and leave nothing behind.
@Suite(.timeLimit(.minutes(2)))
struct ServerStoreCreationTests {
    /// A file registry under a fresh temporary root (not created), quiet.
    private func fileRegistry(root: String) -> StoreRegistry {
        var configuration = RegistryConfiguration()
        configuration.store.logger = Logger(label: "test")
        configuration.store.logger.logLevel = .critical
        return StoreRegistry(root: root, configuration: configuration)
    }

    private func temporaryRoot() -> String {
        NSTemporaryDirectory() + "streamkit-server-stores-" + UUID().uuidString
    }

    @Test("1,000 read-only streams naming unknown stores create no store directory and leave no store open")
    func readOnlyStreamsCreateNoStores() async throws {
        let root = temporaryRoot()
        defer { try? FileManager.default.removeItem(atPath: root) }
        let registry = fileRegistry(root: root)
        let lease = Lease(key: "job", holder: "one", fencingToken: 1, expiresAt: 0, ttl: 1_000_000_000)
        let requests: [(WireMessage, expected: [WireMessage]?, code: StreamKitError.Code?)] = [
            (.getStatus(space: "s", segment: "g"), [.empty], nil),
            (.peek(space: "s", segment: "g"), [.entries([])], nil),
            (.spaces, [.names([])], nil),
            (.segments(space: "s"), [.names([])], nil),
            (.consumeSegment(space: "s", segment: "g", bounds: ReadBounds(), limit: 0), [], nil),
            (.consumeSpace(space: "s", offset: .start, bounds: ReadBounds(), limit: 0), [], nil),
            (.consume(spaces: ["s": .start], bounds: ReadBounds(), limit: 0), [], nil),
            (.leaseQuery(key: "job"), [.leaseResult(nil)], nil),
            (.workerInventoryRequest, [.workerInventory(.empty)], nil),
            (.workerUnregister(workerID: "w", generation: 1), [.ack(false)], nil),
            (.leaseRenew(lease, ttlSeconds: nil), nil, .leaseNotHeld),
            (.leaseRelease(lease), nil, .leaseNotHeld),
            (.workerHeartbeat(workerID: "w", generation: 1), nil, .notFound),
        ]
        var wrong: [String] = []

        try await withTestServer(registry: registry) { port, _ in
            try await withTestClient(port: port) { client in
                for index in 0..<1_000 {
                    let (request, expected, code) = requests[index % requests.count]
                    do {
                        let answers = try await client.call(UUID(), request)
                        if answers != expected { wrong.append("\(request.kind): \(answers)") }
                    } catch let error as StreamKitError {
                        if error.code != code { wrong.append("\(request.kind): \(error)") }
                    }
                }
            }
            #expect(await registry.openStoreCount == 0)
        }

        #expect(wrong.isEmpty, "\(wrong.prefix(5))")
        #expect(!FileManager.default.fileExists(atPath: root), "no store directory, not even the root")
    }

    @Test("a subscription naming a store that does not exist creates nothing and receives the first publish")
    func subscriptionWaitsForTheFirstPublish() async throws {
        let root = temporaryRoot()
        defer { try? FileManager.default.removeItem(atPath: root) }
        let registry = fileRegistry(root: root)
        let store = UUID()

        try await withTestServer(registry: registry) { port, _ in
            try await withTestClient(port: port) { client in
                let (id, answers) = try await client.openRaw(
                    .subscribe(space: "s", segment: "*", heartbeatSeconds: nil), store: store, closeAfterOpen: false)
                // Whether the subscription is registered before the publish (it waits for the store) or after
                // (it opens the store the publish created), its first status is the publish's.
                let status = try await client.call(store, .getStatus(space: "s", segment: "g"))
                let createdBeforePublish = FileManager.default.fileExists(atPath: root)
                _ = try await client.call(store, .publish(space: "s", segment: "g", payload: [1], metadata: [:]))
                var iterator = answers.makeAsyncIterator()
                let live = try await iterator.next()
                await client.consumed(id)
                await client.close(id)

                #expect(status == [.empty])
                #expect(!createdBeforePublish)
                guard case .status(let first)? = live else {
                    Issue.record("expected a status, got \(String(describing: live))")
                    return
                }
                #expect(first.segment == "g" && first.lastSequence == 1)
            }
        }
    }
}
