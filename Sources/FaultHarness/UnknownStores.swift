import Foundation
import StreamKitClient
import StreamKitTestSupport

/// Streams on stores that do not exist, through one client (one connection): each call names a new random
/// store id and reads from it — `peek`, `segments`, `spaces`, a segment read, or a subscription that is
/// cancelled at once. Reads must not create stores: the phase counts the directories that appear.
enum UnknownStores {
    static func run(url: String, seed: UInt64, stop: StopSignal, tally: GarbageTally) async {
        var random = SplitMix64(seed: seed)
        let client = HarnessClient.make(url, retry: .none)
        while !stop.isSet && !Task.isCancelled {
            let store = random.uuid()
            let operation = Int.random(in: 0..<5, using: &random)
            let failure: String?
            do {
                switch operation {
                case 0: _ = try await client.peek(store: store, space: "s", segment: "g")
                case 1: _ = try await client.segments(store: store, space: "s")
                case 2: _ = try await client.spaces(store: store)
                case 3: for try await _ in client.consumeSegment(store: store, space: "s", segment: "g") {}
                default: await (try client.subscribe(store: store, space: "s", segment: "g") { _ in }).cancel()
                }
                failure = nil
            } catch let error as StreamKitError {
                failure = "\(error.code)"
            } catch {
                failure = "\(type(of: error))"
            }
            tally.unknownStoreCall(error: failure)
        }
        _ = await HarnessClient.close(client)
    }
}
