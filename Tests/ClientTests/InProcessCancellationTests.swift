import Foundation
import Logging
import StreamKitClient
import StreamKitTestSupport
import Testing

/// In process, a read whose task is cancelled midway ends with `CancellationError` within a read batch, never as
/// if complete (calls from an already-cancelled task: `CancellationTests`).
@Suite(.timeLimit(.minutes(1)))
struct InProcessCancellationTests {
    /// An in-process client over an in-memory registry whose stores read `readBatchSize` entries per batch.
    private func client(readBatchSize: Int = StoreConfiguration().readBatchSize) -> (StreamKitClient, StoreRegistry) {
        var store = StoreConfiguration()
        store.readBatchSize = readBatchSize
        store.logger.logLevel = .critical
        var configuration = RegistryConfiguration(store: store)
        configuration.inMemory = true
        let registry = StoreRegistry(root: "", configuration: configuration)
        var clientConfiguration = ClientConfiguration()
        clientConfiguration.logger.logLevel = .critical
        return (StreamKitClient(transport: .inProcess(registry), configuration: clientConfiguration), registry)
    }

    /// How a read iterated by a task that cancels itself after the first entry ended: the entries it delivered,
    /// and whether it threw `CancellationError` (false: it ended normally).
    private func readCancelledAfterFirstEntry(
        _ read: @escaping @Sendable () -> ClientStream<Entry>
    ) async
        -> (delivered: Int, threwCancellation: Bool)
    {
        await Task {
            var delivered = 0
            do {
                for try await _ in read() {
                    delivered += 1
                    if delivered == 1 { withUnsafeCurrentTask { $0?.cancel() } }
                }
                return (delivered, false)
            } catch {
                return (delivered, error is CancellationError)
            }
        }.value
    }

    @Test("in process, a consumeSegment whose task is cancelled after the first entry throws CancellationError")
    func cancelledSegmentReadThrows() async throws {
        let (client, registry) = client()
        let store = UUID()
        _ = try await client.produce(store: store, space: "s", segment: "g", records: records(1...300))

        let outcome = await readCancelledAfterFirstEntry {
            client.consumeSegment(store: store, space: "s", segment: "g")
        }

        #expect(outcome.threwCancellation, "delivered \(outcome.delivered) and ended normally")
        await client.close()
        await registry.shutdown()
    }

    @Test("in process, a cancelled read stops within one read batch", arguments: ["segment", "space", "spaces"])
    func cancelledReadsStopWithinABatch(_ read: String) async throws {
        let (client, registry) = client(readBatchSize: 16)
        let store = UUID()
        _ = try await client.produce(store: store, space: "s", segment: "g", records: records(1...300))

        let outcome = await readCancelledAfterFirstEntry {
            switch read {
            case "segment": client.consumeSegment(store: store, space: "s", segment: "g")
            case "space": client.consumeSpace(store: store, space: "s")
            default: client.consume(store: store, spaces: ["s": .start, "t": .start])
            }
        }

        #expect(outcome.threwCancellation)
        #expect(outcome.delivered <= 1 + 16, "delivered \(outcome.delivered) of 300")
        await client.close()
        await registry.shutdown()
    }
}
