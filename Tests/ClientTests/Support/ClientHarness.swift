import Foundation
import Logging
import StreamKitClient
import StreamKitTestSupport
import StreamKitWire
import Synchronization
import Testing

/// The transports the behavioural suite runs against: the registry in this process, and a `StreamKitServer` on
/// 127.0.0.1 (port 0) over the same registry, reached with the WebSocket transport.
enum TransportKind: String, CaseIterable, CustomStringConvertible, Sendable {
    case inProcess
    case webSocket

    var description: String { rawValue }
}

/// A client over a fresh in-memory registry, with a manual clock shared by the client and the stores; for
/// `.webSocket`, a loopback server over that registry too. Always end a test with ``tearDown()``.
struct ClientHarness: Sendable {
    let client: StreamKitClient
    let registry: StoreRegistry
    let clock: ManualClock
    /// The loopback server (WebSocket only).
    let server: LoopbackServer?
    let storeID = UUID()

    /// Builds a harness; `configure` adjusts the client settings (the clock is already the manual one),
    /// `options` the WebSocket settings (the URL is already the loopback server's) and `server` the loopback
    /// server's (port 0, no authentication).
    static func make(
        _ kind: TransportKind, clock: ManualClock = ManualClock(),
        configure: (inout ClientConfiguration) -> Void = { _ in },
        options: (inout WebSocketOptions) -> Void = { _ in },
        server serverConfiguration: StreamKitServer.Configuration = .init(authentication: .none, port: 0)
    ) async throws -> ClientHarness {
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
                registry: registry, clock: clock, server: nil)
        case .webSocket:
            let server = try await LoopbackServer.start(registry: registry, configuration: serverConfiguration)
            var settings = WebSocketOptions(url: server.url)
            settings.reconnectInitialBackoff = .milliseconds(5)
            settings.reconnectMaxBackoff = .milliseconds(50)
            // The upgrade waits for the server's token check, a task in the cooperative pool that every test
            // running in parallel shares: on a loaded machine it took over the default 10 s, and a test expecting
            // 401 saw its own timeout (storeUnavailable) instead. Tests wait for outcomes, not for this bound.
            settings.connectTimeout = .seconds(60)
            options(&settings)
            return ClientHarness(
                client: StreamKitClient(transport: .webSocket(settings), configuration: configuration),
                registry: registry, clock: clock, server: server)
        }
    }

    /// Closes the client, then the server (if any), then the registry. Safe after any of them was closed.
    func tearDown() async {
        await client.close()
        await server?.stop()
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

/// Waits until `condition` holds, checking it after each yield at first, then every few milliseconds; fails the
/// test when it still does not hold after `timeout` of wall time. The deadline only matters when the test is
/// failing: it is generous (60 s by default) because the machine may be fully loaded, so a passing run never
/// depends on how fast other tasks get somewhere. It never stands in for the passing of engine time.
func eventually(
    _ what: String = "condition", timeout: Duration = .seconds(60), sourceLocation: SourceLocation = #_sourceLocation,
    _ condition: () async -> Bool
) async {
    let deadline = ContinuousClock.now + timeout
    var round = 0
    while true {
        if await condition() { return }
        guard ContinuousClock.now < deadline else { break }
        round += 1
        if round <= 1_000 {
            await Task.yield()
        } else {
            try? await Task.sleep(for: .milliseconds(min(1 + (round - 1_000) / 100, 10)))
        }
    }
    Issue.record("timed out after \(timeout) waiting for \(what)", sourceLocation: sourceLocation)
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
