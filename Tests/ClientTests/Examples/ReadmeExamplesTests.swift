import StreamKitClient
import StreamKitWire
import Synchronization
import Testing

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

// The four examples of README.md, "Using the client": each function body below is copied there verbatim (less its
// final `return`), each test runs it, and `readmeShowsTheseExamples` checks the copies, so the README cannot drift
// from the API. Change both together.

// MARK: - Examples (as in README.md)

/// README: embedded use, in process.
func embeddedExample(directory: String) async throws -> [String] {
    let registry = StoreRegistry(root: directory)
    let client = StreamKitClient(transport: .inProcess(registry))
    let store = UUID()

    try await client.produce(
        store: store, space: "orders", segment: "order-1",
        records: [
            Record(sequence: 1, payload: Array("created".utf8)),
            Record(sequence: 2, payload: Array("paid".utf8), metadata: ["currency": "EUR"]),
        ])
    var events: [String] = []
    for try await entry in client.consumeSegment(store: store, space: "orders", segment: "order-1") {
        events.append(String(decoding: entry.payload.bytes, as: UTF8.self))
    }

    await client.close()
    await registry.shutdown()
    return events
}

/// README: a server, and a client talking to it over the WebSocket.
func webSocketExample(registry: StoreRegistry, secret: [UInt8]) async throws -> SegmentStatus {
    let server = StreamKitServer(
        registry: registry, configuration: .init(authentication: .hmac(secret: secret), port: 0))
    let port = try await server.start()  // Port 0: any free port; the default is 7420.

    let client = StreamKitClient(
        transport: .webSocket(url: "ws://127.0.0.1:\(port)/streamkit") {
            try StreamKitToken.hmac(secret: secret, stores: .all)  // Called on every (re)connect.
        })
    let status = try await client.publish(
        store: UUID(), space: "orders", segment: "order-7", payload: Array(#"{"total":42}"#.utf8))

    await client.close()
    await server.shutdown()
    return status
}

/// README: a subscription to every segment of a space.
func subscriptionExample(client: StreamKitClient, store: UUID, seen: @escaping @Sendable (SegmentStatus) -> Void)
    async throws -> Subscription
{
    let subscription = try await client.subscribe(store: store, space: "orders", segment: "*") { status in
        seen(status)  // e.g. "order-1 is at 2": read the new entries from the last sequence you processed.
    }
    try await client.publish(store: store, space: "orders", segment: "order-1", payload: Array("shipped".utf8))
    return subscription  // `await subscription.cancel()` when done; `subscription.status()` tells its health.
}

/// README: work under a lease.
func leaseExample(client: StreamKitClient, store: UUID) async throws -> UInt64 {
    try await client.withLease(store: store, key: "billing-run", ttl: .seconds(10)) { lease in
        // Runs while the lease is held (renewed every 5 s); cancelled at once if it is lost.
        // Pass lease.fencingToken with every write so that a stale holder is refused.
        lease.fencingToken
    }
}

// MARK: - Tests

@Suite(.timeLimit(.minutes(1)))
struct ReadmeExamplesTests {
    @Test("the embedded example produces two records and reads them back in order")
    func embedded() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("readme-\(UUID())").path
        defer { try? FileManager.default.removeItem(atPath: directory) }

        let events = try await embeddedExample(directory: directory)

        #expect(events == ["created", "paid"])
    }

    @Test("the WebSocket example publishes through an authenticated server")
    func webSocket() async throws {
        var configuration = RegistryConfiguration()
        configuration.inMemory = true
        let registry = StoreRegistry(root: "", configuration: configuration)
        let secret = Array("readme-example-secret-of-32-bytes!!".utf8)

        let status = try await webSocketExample(registry: registry, secret: secret)

        #expect(status.segment == "order-7")
        #expect(status.lastSequence == 1)
        await registry.shutdown()
    }

    @Test("the subscription example sees the published segment's status")
    func subscription() async throws {
        var configuration = RegistryConfiguration()
        configuration.inMemory = true
        let registry = StoreRegistry(root: "", configuration: configuration)
        let client = StreamKitClient(transport: .inProcess(registry))
        let statuses = Mutex<[SegmentStatus]>([])
        let (delivered, signal) = AsyncStream<Void>.makeStream()

        let subscription = try await subscriptionExample(client: client, store: UUID()) { status in
            statuses.withLock { $0.append(status) }
            signal.yield()
        }
        for await _ in delivered where statuses.withLock({ $0.contains { $0.lastSequence == 1 } }) { break }

        #expect(statuses.withLock { $0.last?.segment } == "order-1")
        await subscription.cancel()
        await client.close()
        await registry.shutdown()
    }

    @Test("the lease example runs its body under a lease and returns its fencing token")
    func lease() async throws {
        var configuration = RegistryConfiguration()
        configuration.inMemory = true
        let registry = StoreRegistry(root: "", configuration: configuration)
        let client = StreamKitClient(transport: .inProcess(registry))

        let token = try await leaseExample(client: client, store: UUID())

        #expect(token > 0)
        await client.close()
        await registry.shutdown()
    }

    @Test("README.md shows each example's body verbatim (without its final return)")
    func readmeShowsTheseExamples() throws {
        let source = URL(fileURLWithPath: #filePath)
        var root = source
        for _ in 0..<4 { root.deleteLastPathComponent() }  // Tests/ClientTests/Examples/<file>
        let readme = try String(contentsOf: root.appendingPathComponent("README.md"), encoding: .utf8)
        let blocks = Self.swiftBlocks(in: readme, section: "## Using the client")
        #expect(blocks.count == 4)
        let code = try String(contentsOf: source, encoding: .utf8)
        for example in ["embeddedExample", "webSocketExample", "subscriptionExample", "leaseExample"] {
            let body = try #require(Self.body(of: example, in: code), "\(example) not found")
            #expect(blocks.contains(body), "README.md has no block equal to the body of \(example):\n\(body)")
        }
    }

    /// The code blocks (```swift) of one `##` section.
    private static func swiftBlocks(in markdown: String, section: String) -> [String] {
        var blocks: [String] = []
        var current: [Substring]?
        var inSection = false
        for line in markdown.split(separator: "\n", omittingEmptySubsequences: false) {
            if line.hasPrefix("## ") { inSection = line == section }
            guard inSection else { continue }
            if current == nil, line == "```swift" {
                current = []
            } else if let lines = current, line == "```" {
                blocks.append(lines.joined(separator: "\n"))
                current = nil
            } else {
                current?.append(line)
            }
        }
        return blocks
    }

    /// The body of a top-level function of this file, unindented, without a final `return` line.
    private static func body(of function: String, in code: String) -> String? {
        let lines = code.split(separator: "\n", omittingEmptySubsequences: false)
        guard let start = lines.firstIndex(where: { $0.hasPrefix("func \(function)(") }),
            let open = lines[start...].firstIndex(where: { $0.hasSuffix("{") }),
            let close = lines[open...].firstIndex(of: "}")
        else { return nil }
        var body = lines[(open + 1)..<close].map { $0.hasPrefix("    ") ? $0.dropFirst(4) : $0 }
        if body.last?.hasPrefix("return ") == true { body.removeLast() }
        while body.last?.isEmpty == true { body.removeLast() }
        return body.joined(separator: "\n")
    }
}
