import Foundation
import Logging
import StreamKitClient
import StreamKitTestSupport
import Synchronization
import Testing

/// The transports the behavioural suite runs against. Add `.webSocket` (a loopback server over the same
/// registry) when it exists, and every parameterised test runs against it too.
enum TransportKind: String, CaseIterable, CustomStringConvertible, Sendable {
    case inProcess

    var description: String { rawValue }
}

/// A client over a fresh in-memory registry, with a manual clock shared by the client and the stores.
struct ClientHarness: Sendable {
    let client: StreamKitClient
    let registry: StoreRegistry
    let clock: ManualClock
    let storeID = UUID()

    /// Builds a harness; `configure` adjusts the client settings (the clock is already the manual one).
    static func make(
        _ kind: TransportKind, clock: ManualClock = ManualClock(),
        configure: (inout ClientConfiguration) -> Void = { _ in }
    ) -> ClientHarness {
        var store = StoreConfiguration()
        store.clock = clock.engineClock
        store.logger.logLevel = .critical
        var registryConfiguration = RegistryConfiguration(store: store)
        registryConfiguration.inMemory = true
        let registry = StoreRegistry(root: "", configuration: registryConfiguration)
        var configuration = ClientConfiguration(clock: clock.engineClock)
        configuration.logger.logLevel = .critical
        configure(&configuration)
        switch kind {
        case .inProcess:
            return ClientHarness(
                client: StreamKitClient(transport: .inProcess(registry), configuration: configuration),
                registry: registry, clock: clock)
        }
    }

    /// Closes the client, then the registry.
    func tearDown() async {
        await client.close()
        await registry.shutdown()
    }
}

/// Records payload `i` as the bytes of "r<i>".
func records(_ sequences: ClosedRange<UInt64>) -> [Record] {
    sequences.map { Record(sequence: $0, payload: Array("r\($0)".utf8)) }
}

/// Collects a client stream.
func collect<Element>(_ stream: ClientStream<Element>) async throws -> [Element] {
    var out: [Element] = []
    for try await element in stream { out.append(element) }
    return out
}

/// The `StreamKitError` code that `body` throws, or nil when it throws something else or nothing.
func errorCode(_ body: () async throws -> Void) async -> StreamKitError.Code? {
    do {
        try await body()
        return nil
    } catch let error as StreamKitError {
        return error.code
    } catch {
        return nil
    }
}

/// Waits (yielding, then napping 1 ms) until `condition` holds; fails the test after about 5 s of wall time.
/// This only waits for other tasks to get somewhere; it never stands in for the passing of engine time.
func eventually(
    _ what: String = "condition", sourceLocation: SourceLocation = #_sourceLocation,
    _ condition: () async -> Bool
) async {
    for round in 0..<6_000 {
        if await condition() { return }
        if round < 1_000 { await Task.yield() } else { try? await Task.sleep(for: .milliseconds(1)) }
    }
    Issue.record("timed out waiting for \(what)", sourceLocation: sourceLocation)
}

/// A thread-safe value for tests.
final class Box<Value: Sendable>: Sendable {
    private let value: Mutex<Value>
    init(_ value: Value) { self.value = Mutex(value) }
    var get: Value { value.withLock { $0 } }
    func update<R>(_ body: (inout Value) -> R) -> R { value.withLock { body(&$0) } }
}

/// A clock whose `sleep` returns at once after recording the duration and moving time forward.
final class RecordingClock: Sendable {
    private let state = Mutex((now: UInt64(1_000_000_000), sleeps: [UInt64]()))
    var sleeps: [UInt64] { state.withLock { $0.sleeps } }
    var engineClock: EngineClock {
        EngineClock(
            now: { [self] in state.withLock { $0.now } },
            sleep: { [self] nanoseconds in
                try Task.checkCancellation()
                state.withLock {
                    $0.sleeps.append(nanoseconds)
                    $0.now += nanoseconds
                }
            })
    }
}
