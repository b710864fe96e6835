import StreamKitClient
import StreamKitEventSourcing
import StreamKitWire
import Synchronization
import Testing

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

// The five examples of README.md, "Using the client": each function body below is copied there verbatim (less its
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
func subscriptionExample(
    client: StreamKitClient, store: UUID, seen: @escaping @Sendable (SegmentStatus) -> Void
)
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

/// README: a durable consumer that resumes where it stopped.
func consumerExample(client: StreamKitClient, store: UUID) async throws -> Int {
    try await client.createConsumer(store: store, name: "billing", spaces: ["orders"])  // Once; idempotent.
    let billed = try await client.withConsumer(store: store, name: "billing") { reader in
        var count = 0
        for try await entry in reader.entries() {  // After the last acknowledged entry, up to the head.
            count += entry.payload.isEmpty ? 0 : 1  // Processed once the loop asks for the next entry.
        }
        return count
    }  // Acknowledged before withConsumer returns: the next run goes on from there.
    return billed
}

// MARK: - Event sourcing example (as in README.md, "Event sourcing")

// README: an aggregate, folded from its events.
struct Account: Aggregate, Codable {
    enum Event: Codable, Sendable {
        case deposited(Int)
        case withdrawn(Int)
    }
    var balance = 0

    mutating func apply(_ event: Event) {
        switch event {
        case .deposited(let amount): balance += amount
        case .withdrawn(let amount): balance -= amount
        }
    }
}

/// README: load, decide, save with compare-and-append.
func eventSourcingExample(client: StreamKitClient, store: UUID) async throws -> Int {
    let accounts = AggregateRepository<Account>(
        client: client, store: store, space: "accounts", snapshots: .every(100))
    try await accounts.save("acc-1", events: [.deposited(100)], expectedVersion: 0)

    let (account, version) = try await accounts.load("acc-1")  // Folds the events: balance 100, version 1.
    guard account.balance >= 30 else { return account.balance }
    do {
        try await accounts.save("acc-1", events: [.withdrawn(30)], expectedVersion: version)
    } catch let error as EventSourcingError where error.code == .versionConflict {
        // Another save came first (the account is at error.currentVersion): load again, decide again.
    }
    return try await accounts.load("acc-1").aggregate.balance
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

    @Test("the consumer example reads what is new and a second run continues after it")
    func consumer() async throws {
        var configuration = RegistryConfiguration()
        configuration.inMemory = true
        let registry = StoreRegistry(root: "", configuration: configuration)
        let client = StreamKitClient(transport: .inProcess(registry))
        let store = UUID()
        try await client.publish(store: store, space: "orders", segment: "order-1", payload: Array("created".utf8))
        try await client.publish(store: store, space: "orders", segment: "order-2", payload: Array("created".utf8))

        let first = try await consumerExample(client: client, store: store)
        let second = try await consumerExample(client: client, store: store)
        try await client.publish(store: store, space: "orders", segment: "order-1", payload: Array("paid".utf8))
        let third = try await consumerExample(client: client, store: store)

        #expect([first, second, third] == [2, 0, 1])
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
        #expect(blocks.count == 5)
        let code = try String(contentsOf: source, encoding: .utf8)
        for example in [
            "embeddedExample", "webSocketExample", "subscriptionExample", "leaseExample", "consumerExample",
        ] {
            let body = try #require(Self.body(of: example, in: code), "\(example) not found")
            #expect(blocks.contains(body), "README.md has no block equal to the body of \(example):\n\(body)")
        }
    }

    @Test("the event-sourcing example saves, loads and saves again at the loaded version")
    func eventSourcing() async throws {
        var configuration = RegistryConfiguration()
        configuration.inMemory = true
        let registry = StoreRegistry(root: "", configuration: configuration)
        let client = StreamKitClient(transport: .inProcess(registry))

        let balance = try await eventSourcingExample(client: client, store: UUID())

        #expect(balance == 70)
        await client.close()
        await registry.shutdown()
    }

    @Test("README.md shows the event-sourcing example's aggregate and body verbatim")
    func readmeShowsTheEventSourcingExample() throws {
        let source = URL(fileURLWithPath: #filePath)
        var root = source
        for _ in 0..<4 { root.deleteLastPathComponent() }  // Tests/ClientTests/Examples/<file>
        let readme = try String(contentsOf: root.appendingPathComponent("README.md"), encoding: .utf8)
        let blocks = Self.swiftBlocks(in: readme, section: "## Event sourcing")
        #expect(blocks.count == 2)
        let code = try String(contentsOf: source, encoding: .utf8)
        let aggregate = try #require(Self.declaration(of: "struct Account", in: code), "Account not found")
        let body = try #require(Self.body(of: "eventSourcingExample", in: code), "eventSourcingExample not found")
        #expect(blocks.contains(aggregate), "README.md has no block equal to Account:\n\(aggregate)")
        #expect(blocks.contains(body), "README.md has no block equal to the body of eventSourcingExample:\n\(body)")
    }

    /// A top-level declaration of this file, from the line that starts with `prefix` to its closing brace.
    private static func declaration(of prefix: String, in code: String) -> String? {
        let lines = code.split(separator: "\n", omittingEmptySubsequences: false)
        guard let start = lines.firstIndex(where: { $0.hasPrefix(prefix) }),
            let close = lines[start...].firstIndex(of: "}")
        else { return nil }
        return lines[start...close].joined(separator: "\n")
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
