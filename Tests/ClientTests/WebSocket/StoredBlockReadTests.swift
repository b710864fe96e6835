import Foundation
import Logging
import StreamKitClient
import StreamKitTestSupport
import StreamKitWire
import Testing

/// Reads over the WebSocket transport of a file store whose entries lie in sealed blocks: the server sends the
/// blocks as stored (`storedEntries`) and the client checks and decodes them.
@Suite(.timeLimit(.minutes(1))) struct StoredBlockReadTests {
    /// A file registry with small blocks and almost no tail, a loopback server over it, and a WebSocket client.
    private static func withClient(_ body: (StreamKitClient, StoreRegistry, UUID) async throws -> Void) async throws {
        let root = NSTemporaryDirectory() + "streamkit-stored-blocks-" + UUID().uuidString
        defer { try? FileManager.default.removeItem(atPath: root) }
        var store = StoreConfiguration()
        store.log.durability = .none
        store.log.blockBytes = 1024
        store.tailBytes = 1
        store.readBatchSize = 50
        store.logger.logLevel = .critical
        store.log.logger.logLevel = .critical
        let registry = StoreRegistry(root: root, configuration: RegistryConfiguration(store: store))
        let server = try await LoopbackServer.start(registry: registry)
        var options = WebSocketOptions(url: server.url)
        options.connectTimeout = .seconds(60)
        var configuration = ClientConfiguration()
        configuration.logger.logLevel = .critical
        let client = StreamKitClient(transport: .webSocket(options), configuration: configuration)
        do {
            try await body(client, registry, UUID())
        } catch {
            await client.close()
            await server.stop()
            await registry.shutdown()
            throw error
        }
        await client.close()
        await server.stop()
        await registry.shutdown()
    }

    @Test("segment and space reads of sealed blocks over WebSocket return what the store holds, in order, once")
    func readsOfSealedBlocks() async throws {
        try await Self.withClient { client, registry, id in
            for round in 0..<8 {
                let first = UInt64(round * 40 + 1)
                try await client.produce(store: id, space: "x", segment: "a", records: records(first...(first + 39)))
                _ = try await client.publish(store: id, space: "x", segment: "b", payload: Array("b\(round)".utf8))
                _ = try await client.publish(store: id, space: "y", segment: "c", payload: Array("c\(round)".utf8))
            }
            let expectedSpace = try await registry.withStore(id) { store in
                try await store.consumeSpace(space: "x").collectAll()
            }

            let segment = try await collect(client.consumeSegment(store: id, space: "x", segment: "a"))
            let bounded = try await collect(
                client.consumeSegment(store: id, space: "x", segment: "a", minSequence: 33, maxSequence: 201))
            let limited = try await collect(client.consumeSegment(store: id, space: "x", segment: "a", limit: 77))
            let space = try await collect(client.consumeSpace(store: id, space: "x"))
            let resumed = try await collect(client.consumeSpace(store: id, space: "x", offset: space[99].offset))

            #expect(segment.map(\.sequence) == Array(1...320))
            #expect(segment.map { String(decoding: $0.payload.bytes, as: UTF8.self) } == (1...320).map { "r\($0)" })
            #expect(bounded.map(\.sequence) == Array(33...201))
            #expect(limited.map(\.sequence) == Array(1...77))
            #expect(space == expectedSpace)
            #expect(resumed.map(\.position) == expectedSpace.dropFirst(100).map(\.position))
        }
    }
}

extension AsyncSequence {
    fileprivate func collectAll() async throws -> [Element] {
        var out: [Element] = []
        for try await element in self { out.append(element) }
        return out
    }
}
