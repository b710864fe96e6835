import Foundation
import Logging
import StreamKitLogFiles
import StreamKitPostgres
import StreamKitTestSupport
import Testing

@testable import StreamKitEngine

/// The storage backends every behavioural test runs against.
enum Backend: String, CaseIterable, Sendable, CustomTestStringConvertible {
    case memory
    case file
    /// A store in the PostgreSQL server of `STREAMKIT_TEST_POSTGRES_URL` (started by `scripts/test.sh`).
    case postgres

    var testDescription: String { rawValue }
}

/// A store on a backend, with its directory removed afterwards.
struct StoreFixture: Sendable {
    let store: Store
    let directory: String?

    static func make(_ backend: Backend, configuration: StoreConfiguration = quiet()) async throws -> StoreFixture {
        switch backend {
        case .memory:
            return StoreFixture(store: Store.inMemory(configuration: configuration), directory: nil)
        case .file:
            let directory = NSTemporaryDirectory() + "streamkit-engine-" + UUID().uuidString
            let store = try await Store.open(id: UUID(), directory: directory, configuration: configuration)
            return StoreFixture(store: store, directory: directory)
        case .postgres:
            let log = try await TestPostgres.log()
            let store = try #require(try await log.openStore(id: UUID(), configuration: configuration))
            return StoreFixture(store: store, directory: nil, postgres: log)
        }
    }

    /// The shared PostgreSQL log of a store on the `postgres` backend.
    var postgres: PostgresLog? = nil

    func reopen(configuration: StoreConfiguration = quiet()) async throws -> Store {
        await store.close()
        if let postgres {
            return try #require(
                try await postgres.openStore(id: store.id, configuration: configuration, creating: false))
        }
        guard let directory else { return store }
        return try await Store.open(id: store.id, directory: directory, configuration: configuration)
    }

    func tearDown() async {
        await store.close()
        if let directory { try? FileManager.default.removeItem(atPath: directory) }
    }

    /// A test configuration: no sync (tests are about semantics), Info logs off, small blocks.
    static func quiet() -> StoreConfiguration {
        var configuration = StoreConfiguration()
        configuration.log.durability = .none
        configuration.log.blockBytes = 4096
        configuration.log.logger.logLevel = .warning
        configuration.logger.logLevel = .warning
        return configuration
    }
}

/// Runs `body` with a fresh store on `backend`, then tears it down.
func withStore(
    _ backend: Backend, configuration: StoreConfiguration = StoreFixture.quiet(),
    _ body: (StoreFixture) async throws -> Void
) async throws {
    let fixture = try await StoreFixture.make(backend, configuration: configuration)
    do {
        try await body(fixture)
        await fixture.tearDown()
    } catch {
        await fixture.tearDown()
        throw error
    }
}

func records(_ range: ClosedRange<UInt64>, tag: String = "r") -> [Record] {
    range.map {
        Record(sequence: $0, payload: Array("\(tag)-\($0)".utf8), metadata: $0 % 7 == 0 ? ["n": "\($0)"] : [:])
    }
}

extension AsyncSequence {
    /// Collects every element.
    func collect() async throws -> [Element] {
        var out: [Element] = []
        for try await element in self { out.append(element) }
        return out
    }
}

/// Catches a StreamKitError thrown by `body`.
func streamKitError(_ body: () async throws -> Void) async -> StreamKitError? {
    do {
        try await body()
        return nil
    } catch let error as StreamKitError {
        return error
    } catch {
        return StreamKitError(code: .internalError, message: "unexpected \(error)")
    }
}
