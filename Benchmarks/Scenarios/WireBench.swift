import Foundation
import Logging
import StreamKitClient
import StreamKitEngine
import StreamKitWire

/// Shared set-up of the `wire.*` scenarios: a `StreamKitServer` on 127.0.0.1 over a file registry in the work
/// directory, and a `StreamKitClient` talking to it over the WebSocket transport — both in this process, on
/// the same 2 cores, the way the targets are stated.
struct WireBench {
    let registry: StoreRegistry
    let server: StreamKitServer
    let client: StreamKitClient
    let store = UUID()

    /// Starts the server (no authentication: loopback only) and connects a client.
    static func start(directory: String, durability: BenchDurability) async throws -> WireBench {
        let registry = StoreRegistry(
            root: directory, configuration: RegistryConfiguration(store: EngineBench.configuration(durability)))
        let server = StreamKitServer(
            registry: registry, configuration: .init(authentication: .none, host: "127.0.0.1", port: 0))
        let port = try await server.start()
        var options = WebSocketOptions(url: "ws://127.0.0.1:\(port)/streamkit")
        options.resumeReads = false
        var configuration = ClientConfiguration()
        configuration.logger.logLevel = .warning
        let client = StreamKitClient(transport: .webSocket(options), configuration: configuration)
        return WireBench(registry: registry, server: server, client: client)
    }

    /// Closes the client, the server and the registry.
    func stop() async {
        await client.close()
        await server.shutdown()
        await registry.shutdown()
    }
}

/// The records of a workload's batches, one after another, as an async sequence (the source of a streaming
/// produce).
struct BatchRecords: AsyncSequence, Sendable {
    typealias Element = Record
    let batches: [EngineBench.Batch]

    func makeAsyncIterator() -> Iterator { Iterator(batches: batches) }

    struct Iterator: AsyncIteratorProtocol {
        let batches: [EngineBench.Batch]
        var batch = 0
        var index = 0

        mutating func next() async -> Record? {
            while batch < batches.count {
                let records = batches[batch].records
                if index < records.count {
                    defer { index += 1 }
                    return records[index]
                }
                batch += 1
                index = 0
            }
            return nil
        }
    }
}
